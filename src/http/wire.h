// The head of an HTTP/1.1 message as one string, so the head and the body go out in one
// gather write. Beast's serializer walks the fields as a chain of buffer views: for the two
// small messages of a fast-path request (upstream request, answer) that cost ~35k
// instructions, more than the rest of the framing together (issue 18). The bytes are the
// ones Beast wrote: fields in order, a later field of the same name replacing an earlier one.
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <string_view>

#include <boost/asio/buffer.hpp>
#include <boost/system/error_code.hpp>

#include "http/server.h"

namespace tollgate::http {

// "HTTP/1.1 <status> <reason>", `headers`, "Connection: close" unless `keep_alive`, and
// "Content-Length: <content_length>". Framing fields among `headers` are left out.
std::string response_head(int status, const Headers& headers, bool keep_alive, std::size_t content_length);

// A chunked answer's head: as response_head, with "Transfer-Encoding: chunked" in place of
// Content-Length.
std::string stream_head(int status, const Headers& headers, bool keep_alive);

// Writes as much of `pieces` as the socket `fd` takes now, in one sendmsg that does not wait
// (MSG_DONTWAIT), and drops what was written from the front of `pieces`. True when all went;
// false when the socket is full (nothing lost: write the rest asynchronously) or failed (`ec`).
// A small message (an answer, a chunk, an upstream request) nearly always goes at once, and then
// costs no asynchronous operation: Asio's write would arm the stream's timer and post its
// completion to the event loop's next round, behind an epoll_wait (issue 18: syscalls and
// instructions per request). Plain TCP only: TLS writes go through the stream.
bool send_now(int fd, std::span<boost::asio::const_buffer> pieces, boost::system::error_code& ec);

// A chunk's size line ("<hex>\r\n") written into `out`; returns its length.
std::size_t chunk_size_line(char (&out)[20], std::size_t size);

// "<method> <target> HTTP/1.1", "Host: <host>", `headers` (a "host" among them replaces it) and
// Content-Length when there is a body or the method carries one. Framing and connection fields
// among `headers` are left out: the client keeps its connections alive and frames the body.
std::string request_head(std::string_view method, std::string_view target, std::string_view host,
                         const Headers& headers, std::size_t content_length);

}  // namespace tollgate::http
