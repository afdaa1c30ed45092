// The head of an HTTP/1.1 message as one string, so the head and the body go out in one
// gather write. Beast's serializer walks the fields as a chain of buffer views: for the two
// small messages of a fast-path request (upstream request, answer) that cost ~35k
// instructions, more than the rest of the framing together (issue 18). The bytes are the
// ones Beast wrote: fields in order, a later field of the same name replacing an earlier one.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "http/server.h"

namespace tollgate::http {

// "HTTP/1.1 <status> <reason>", `headers`, "Connection: close" unless `keep_alive`, and
// "Content-Length: <content_length>". Framing fields among `headers` are left out.
std::string response_head(int status, const Headers& headers, bool keep_alive, std::size_t content_length);

// "<method> <target> HTTP/1.1", "Host: <host>", `headers` (a "host" among them replaces it) and
// Content-Length when there is a body or the method carries one. Framing and connection fields
// among `headers` are left out: the client keeps its connections alive and frames the body.
std::string request_head(std::string_view method, std::string_view target, std::string_view host,
                         const Headers& headers, std::size_t content_length);

}  // namespace tollgate::http
