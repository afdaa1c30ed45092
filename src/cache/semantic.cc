#include "cache/semantic.h"

// hnswlib's SSE search prefetches through the element one past each neighbour list (a read
// past its allocation, found by ASan in make test); the plain loops read only what is theirs,
// and at these sizes the distance cost is small next to the embedding call.
#define NO_MANUAL_VECTORIZATION
#include <hnswlib/hnswlib.h>

#include <cmath>
#include <unordered_map>

#include "cache/cache_key.h"
#include "cache/entry.h"

namespace tollgate::cache {
namespace json = boost::json;

namespace {

// The text of a message's content: a string, or text parts only (nullopt: anything else).
std::optional<std::string> text_of(const json::value& content) {
  if (content.is_string()) return std::string(content.get_string());
  if (!content.is_array()) return std::nullopt;
  std::string out;
  for (const auto& part : content.get_array()) {
    const auto* p = part.if_object();
    const json::value* type = p ? p->if_contains("type") : nullptr;
    const json::value* text = p ? p->if_contains("text") : nullptr;
    if (!type || *type != "text" || !text || !text->is_string()) return std::nullopt;
    if (!out.empty()) out += '\n';
    out += text->get_string();
  }
  return out;
}

// hnswlib's small-world graph: M links per node, ef candidates while building and searching.
constexpr std::size_t kLinks = 16, kEfConstruction = 100, kEfSearch = 64;
// A partition per conversation prefix and scope: most hold few entries, so each starts small.
constexpr std::size_t kFirstCapacity = 16;
constexpr std::size_t kCandidates = 4;  // the nearest may have expired; a few more are looked at

}  // namespace

std::optional<SemanticQuery> semantic_query(std::string_view scope_tag, std::string_view alias,
                                            std::string_view embedding_alias, const json::object& chat) {
  const json::value* messages = chat.if_contains("messages");
  if (!messages || !messages->is_array() || messages->get_array().empty()) return std::nullopt;
  const auto* last = messages->get_array().back().if_object();
  if (!last || !last->contains("role") || last->at("role") != "user" || !last->contains("content")) return std::nullopt;
  auto text = text_of(last->at("content"));
  if (!text || text->find_first_not_of(" \t\r\n") == std::string::npos) return std::nullopt;
  // Everything but the last message's wording: the rest must be the same to share an answer.
  json::object rest = chat;
  rest["messages"].as_array().back().as_object()["content"] = "";
  std::string material;
  material.append(alias).append("\nsemantic:").append(embedding_alias);
  return SemanticQuery{std::move(*text), exact_key(scope_tag, material, canonical_request(rest))};
}

bool normalize(std::vector<float>& v) {
  double sum = 0;
  for (float x : v) sum += double(x) * x;
  if (!(sum > 0) || !std::isfinite(sum)) return false;
  const float scale = static_cast<float>(1 / std::sqrt(sum));
  for (float& x : v) x *= scale;
  return true;
}

// One partition's graph. hnswlib labels are numbers: ours index `keys`.
struct SemanticIndex::Partition {
  std::mutex mu;
  std::size_t dims = 0;
  std::unique_ptr<hnswlib::InnerProductSpace> space;
  std::unique_ptr<hnswlib::HierarchicalNSW<float>> graph;
  std::vector<std::string> keys;
  std::unordered_map<std::string, hnswlib::labeltype> labels;
  int64_t log_seen = 0;  // the backend log's last sequence number read
};

SemanticIndex::SemanticIndex() = default;
SemanticIndex::~SemanticIndex() = default;

SemanticIndex::Partition& SemanticIndex::partition(const std::string& name) {
  std::lock_guard lock(mu_);
  auto& p = partitions_[name];
  if (!p) p = std::make_unique<Partition>();
  return *p;
}

std::vector<SemanticIndex::Match> SemanticIndex::nearest(const std::string& name, std::span<const float> v,
                                                         double threshold) {
  Partition& p = partition(name);
  std::lock_guard lock(p.mu);
  std::vector<Match> out;
  if (!p.graph || v.size() != p.dims) return out;
  auto found = p.graph->searchKnn(v.data(), kCandidates);
  while (!found.empty()) {  // farthest first
    auto [distance, label] = found.top();
    found.pop();
    double similarity = 1.0 - distance;  // inner product distance of unit vectors
    if (similarity >= threshold) out.push_back({p.keys.at(label), std::min(similarity, 1.0)});
  }
  std::reverse(out.begin(), out.end());
  return out;
}

void SemanticIndex::add(const std::string& name, const std::string& key, std::span<const float> v) {
  Partition& p = partition(name);
  std::lock_guard lock(p.mu);
  if (v.empty() || p.labels.contains(key)) return;
  if (!p.graph) {
    p.dims = v.size();
    p.space = std::make_unique<hnswlib::InnerProductSpace>(p.dims);
    p.graph = std::make_unique<hnswlib::HierarchicalNSW<float>>(p.space.get(), kFirstCapacity, kLinks, kEfConstruction);
    p.graph->setEf(kEfSearch);
  }
  if (v.size() != p.dims) return;  // the embedding model changed its size: this one cannot be compared
  if (p.keys.size() == p.graph->max_elements_) p.graph->resizeIndex(p.keys.size() * 2);
  hnswlib::labeltype label = p.keys.size();
  p.graph->addPoint(v.data(), label);
  p.keys.push_back(key);
  p.labels.emplace(key, label);
}

void SemanticIndex::forget(const std::string& name, const std::string& key) {
  Partition& p = partition(name);
  std::lock_guard lock(p.mu);
  auto it = p.labels.find(key);
  if (it == p.labels.end() || !p.graph) return;
  try {
    p.graph->markDelete(it->second);
  } catch (const std::exception&) {
    // already deleted
  }
}

void SemanticIndex::catch_up(const std::string& name, Backend& backend) {
  int64_t seen;
  {
    Partition& p = partition(name);
    std::lock_guard lock(p.mu);
    seen = p.log_seen;
  }
  auto logged = backend.log_since(name, seen);
  if (logged.empty()) return;
  for (const auto& [key, seq] : logged) {
    seen = std::max(seen, seq);
    {
      Partition& p = partition(name);
      std::lock_guard lock(p.mu);
      if (p.labels.contains(key)) continue;
    }
    auto text = backend.get(key);
    auto entry = text ? decode_entry(*text) : std::nullopt;
    if (!entry || entry->embedding.empty()) continue;  // expired since it was logged
    if (normalize(entry->embedding)) add(name, key, entry->embedding);
  }
  Partition& p = partition(name);
  std::lock_guard lock(p.mu);
  p.log_seen = std::max(p.log_seen, seen);
}

std::size_t SemanticIndex::size() const {
  std::lock_guard lock(mu_);
  std::size_t n = 0;
  for (const auto& [name, p] : partitions_) {
    std::lock_guard plock(p->mu);
    n += p->keys.size();
  }
  return n;
}

}  // namespace tollgate::cache
