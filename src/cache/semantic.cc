#include "cache/semantic.h"

// hnswlib's SSE search prefetches through the element one past each neighbour list (a read
// past its allocation, found by ASan in make test); the plain loops read only what is theirs,
// and at these sizes the distance cost is small next to the embedding call.
#define NO_MANUAL_VECTORIZATION
#include <hnswlib/hnswlib.h>

#include <algorithm>
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

// One partition: slots by label (hnswlib labels are numbers), a removed one with its key
// cleared; the vectors flat (dims floats a slot) until the graph takes them.
struct SemanticIndex::Partition {
  std::string name;
  std::size_t dims = 0;
  struct Slot {
    std::string key;
    Expiry::iterator at;
  };
  std::vector<Slot> slots;
  std::vector<float> flat;
  std::unique_ptr<hnswlib::InnerProductSpace> space;
  std::unique_ptr<hnswlib::HierarchicalNSW<float>> graph;
  std::unordered_map<std::string, std::size_t> labels;  // live keys
  std::size_t live() const { return labels.size(); }
};

SemanticIndex::SemanticIndex(std::size_t max_entries) : max_entries_(std::max<std::size_t>(max_entries, 1)) {}
SemanticIndex::~SemanticIndex() = default;

void SemanticIndex::set_max_entries(std::size_t n) {
  std::lock_guard lock(mu_);
  max_entries_ = std::max<std::size_t>(n, 1);
}

SemanticIndex::Partition& SemanticIndex::partition(const std::string& name) {
  auto& p = partitions_[name];
  if (!p) {
    p = std::make_unique<Partition>();
    p->name = name;
  }
  return *p;
}

// Entries past their time, then the soonest to expire while over the cap, leave.
void SemanticIndex::sweep(int64_t now_ms) {
  while (!expiry_.empty() && (expiry_.begin()->first <= now_ms || expiry_.size() > max_entries_))
    drop(expiry_.begin());
}

void SemanticIndex::drop(Expiry::iterator at) {
  auto [p, label] = at->second;
  expiry_.erase(at);
  p->labels.erase(p->slots[label].key);
  p->slots[label].key = std::string();  // frees a long key's buffer too
  if (p->graph) p->graph->markDelete(label);
  if (p->live() == 0) {
    partitions_.erase(partitions_.find(p->name));  // the graph, vectors and slots with it
    return;
  }
  if (p->slots.size() - p->live() > p->live()) compact(*p);
}

// Appends a slot; its vector goes to the graph, or to the flat store (which becomes a graph
// once the partition is large enough to repay one).
void SemanticIndex::place(Partition& p, std::string key, std::span<const float> v, Expiry::iterator at) {
  const std::size_t label = p.slots.size();
  at->second = {&p, label};
  p.labels.emplace(key, label);
  p.slots.push_back({std::move(key), at});
  if (!p.graph) {
    p.flat.insert(p.flat.end(), v.begin(), v.end());
    if (p.live() < kGraphFrom) return;
    p.space = std::make_unique<hnswlib::InnerProductSpace>(p.dims);
    p.graph = std::make_unique<hnswlib::HierarchicalNSW<float>>(p.space.get(), p.live() * 2, kLinks, kEfConstruction);
    p.graph->setEf(kEfSearch);
    for (std::size_t l = 0; l < p.slots.size(); ++l)
      if (!p.slots[l].key.empty()) p.graph->addPoint(p.flat.data() + l * p.dims, l);
    std::vector<float>().swap(p.flat);
    return;
  }
  if (p.graph->cur_element_count == p.graph->max_elements_) p.graph->resizeIndex(p.graph->max_elements_ * 2);
  p.graph->addPoint(v.data(), label);
}

// More removed slots than live ones: the live ones are placed anew, and what the removed held
// (flat vectors, graph nodes) is freed.
void SemanticIndex::compact(Partition& p) {
  std::vector<Partition::Slot> slots;
  std::vector<float> vectors;
  slots.reserve(p.live());
  vectors.reserve(p.live() * p.dims);
  for (std::size_t l = 0; l < p.slots.size(); ++l) {
    if (p.slots[l].key.empty()) continue;
    if (p.graph) {
      auto v = p.graph->getDataByLabel<float>(l);
      vectors.insert(vectors.end(), v.begin(), v.end());
    } else {
      vectors.insert(vectors.end(), p.flat.begin() + l * p.dims, p.flat.begin() + (l + 1) * p.dims);
    }
    slots.push_back(std::move(p.slots[l]));
  }
  p.graph.reset();
  p.space.reset();
  std::vector<float>().swap(p.flat);
  std::vector<Partition::Slot>().swap(p.slots);
  p.labels.clear();
  for (std::size_t i = 0; i < slots.size(); ++i)
    place(p, std::move(slots[i].key), std::span<const float>(vectors).subspan(i * p.dims, p.dims), slots[i].at);
}

std::vector<SemanticIndex::Match> SemanticIndex::nearest(const std::string& name, std::span<const float> v,
                                                         double threshold, int64_t now_ms) {
  std::lock_guard lock(mu_);
  sweep(now_ms);
  std::vector<Match> out;
  auto it = partitions_.find(name);
  if (it == partitions_.end() || v.size() != it->second->dims) return out;
  const Partition& p = *it->second;
  std::vector<std::pair<float, std::size_t>> found;  // (distance, label)
  if (p.graph) {
    auto heap = p.graph->searchKnn(v.data(), kCandidates);
    for (; !heap.empty(); heap.pop()) found.emplace_back(heap.top().first, heap.top().second);
  } else {
    for (std::size_t l = 0; l < p.slots.size(); ++l)
      if (!p.slots[l].key.empty())
        found.emplace_back(hnswlib::InnerProductDistance(v.data(), p.flat.data() + l * p.dims, &p.dims), l);
  }
  std::sort(found.begin(), found.end());
  for (auto [distance, label] : found) {
    double similarity = 1.0 - distance;  // inner product distance of unit vectors
    if (similarity < threshold || out.size() == kCandidates) break;
    out.push_back({p.slots[label].key, std::min(similarity, 1.0)});
  }
  return out;
}

void SemanticIndex::add(const std::string& name, const std::string& key, std::span<const float> v, int64_t expires_ms,
                        int64_t now_ms) {
  std::lock_guard lock(mu_);
  if (v.empty() || expires_ms <= now_ms) return;
  if (auto it = partitions_.find(name); it != partitions_.end()) {
    if (it->second->labels.contains(key)) return;
    if (v.size() != it->second->dims) return;  // the embedding model changed its size: cannot be compared
  }
  Partition& p = partition(name);
  p.dims = v.size();
  place(p, key, v, expiry_.emplace(expires_ms, std::pair<Partition*, std::size_t>{&p, 0}));
  sweep(now_ms);
}

void SemanticIndex::forget(const std::string& name, const std::string& key) {
  std::lock_guard lock(mu_);
  auto it = partitions_.find(name);
  if (it == partitions_.end()) return;
  auto label = it->second->labels.find(key);
  if (label != it->second->labels.end()) drop(it->second->slots[label->second].at);
}

void SemanticIndex::catch_up(const std::string& name, Backend& backend, std::chrono::seconds ttl, int64_t now_ms) {
  int64_t seen = 0;
  {
    std::lock_guard lock(mu_);
    if (auto it = log_seen_.find(name); it != log_seen_.end()) seen = it->second.number;
  }
  auto logged = backend.log_since(name, seen);  // outside the lock: I/O
  if (logged.empty()) return;
  const int64_t ttl_ms = std::chrono::milliseconds(ttl).count();
  for (const auto& [key, number] : logged) {
    seen = std::max(seen, number);
    {
      std::lock_guard lock(mu_);
      auto it = partitions_.find(name);
      if (it != partitions_.end() && it->second->labels.contains(key)) continue;
    }
    auto text = backend.get(key);
    auto entry = text ? decode_entry(*text) : std::nullopt;
    if (!entry || entry->embedding.empty()) continue;  // expired since it was logged
    if (normalize(entry->embedding)) add(name, key, entry->embedding, entry->stored_at_ms + ttl_ms, now_ms);
  }
  std::lock_guard lock(mu_);
  if (log_seen_.size() >= max_entries_)
    std::erase_if(log_seen_, [&](const auto& s) { return s.second.until_ms <= now_ms; });
  if (log_seen_.size() >= max_entries_) log_seen_.clear();  // read again from the start: slower, not wrong
  Seen& s = log_seen_[name];
  s.number = std::max(s.number, seen);
  s.until_ms = now_ms + ttl_ms;
}

std::size_t SemanticIndex::size() const {
  std::lock_guard lock(mu_);
  return expiry_.size();
}

std::size_t SemanticIndex::partitions() const {
  std::lock_guard lock(mu_);
  return partitions_.size();
}

std::size_t SemanticIndex::bytes() const {
  std::lock_guard lock(mu_);
  std::size_t n = expiry_.size() * 64 + log_seen_.size() * 128;  // tree nodes
  for (const auto& [name, p] : partitions_) {
    n += sizeof(Partition) + name.capacity() + p->flat.capacity() * sizeof(float) +
         p->slots.capacity() * sizeof(Partition::Slot) + p->live() * 64;  // label map nodes
    for (const auto& s : p->slots) n += s.key.capacity();
    if (const auto* g = p->graph.get())
      n += g->max_elements_ * (g->size_data_per_element_ + sizeof(void*) + sizeof(int) + sizeof(std::mutex) +
                               sizeof(unsigned short)) +
           g->link_list_update_locks_.size() * sizeof(std::mutex) + g->cur_element_count * 2 * sizeof(void*);
  }
  return n;
}

}  // namespace tollgate::cache
