// One request and its whole answer, sent from a thread of its own (the OTLP exporter's, the
// budget alerts'), on an io_context that thread keeps for its client.
#pragma once

#include <boost/asio/io_context.hpp>

#include <string>

#include "http/client.h"

namespace tollgate::http {

// Runs `ioc` until this exchange ends, not until it runs out of work: the client's pool keeps a
// timer there while connections are pooled. "" on a 2xx answer; else why not ("status 500",
// the failure, "exception").
std::string post_and_wait(boost::asio::io_context& ioc, const core::UpstreamEndpoint& endpoint,
                          const core::Timeouts& timeouts, bool verify_tls, const OutgoingRequest& req);

}  // namespace tollgate::http
