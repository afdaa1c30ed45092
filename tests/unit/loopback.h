// Loopback sockets for unit tests' small servers: a port the kernel picks on 127.0.0.1.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

namespace tollgate::test_support {

// Binds `fd` to 127.0.0.1 on a port the kernel picks; that port, or 0 when the bind failed.
inline int bind_loopback(int fd) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0)
    return 0;
  return ntohs(a.sin_port);
}

// A loopback port that was free a moment ago (its socket is closed again), for a server the
// test starts as another process.
inline int free_loopback_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  int port = bind_loopback(fd);
  ::close(fd);
  return port;
}

}  // namespace tollgate::test_support
