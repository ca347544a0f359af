#include "sys/fd_passing.h"

#include <sys/socket.h>

#include <cstring>

namespace ptfs::sys {

Errno SendWithFd(int sock, std::span<const char> data, int fd, int flags) {
  struct iovec iov{const_cast<char*>(data.data()), data.size()};
  struct msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  alignas(struct cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  if (fd >= 0) {
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    struct cmsghdr* c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    std::memcpy(CMSG_DATA(c), &fd, sizeof(int));
  }
  const ssize_t n = ::sendmsg(sock, &msg, flags | MSG_NOSIGNAL);
  if (n < 0) return Errno::Last();
  return n == static_cast<ssize_t>(data.size()) ? Errno::Ok() : Errno(EMSGSIZE);
}

Result<size_t> ReceiveWithFd(int sock, std::span<char> data, UniqueFd* fd, int flags) {
  struct iovec iov{data.data(), data.size()};
  struct msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  alignas(struct cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  const ssize_t n = ::recvmsg(sock, &msg, flags | MSG_CMSG_CLOEXEC);
  if (n < 0) return Errno::Last();
  *fd = UniqueFd();
  for (struct cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS &&
        c->cmsg_len >= CMSG_LEN(sizeof(int))) {
      int received;
      std::memcpy(&received, CMSG_DATA(c), sizeof(int));
      *fd = UniqueFd(received);
    }
  }
  return static_cast<size_t>(n);
}

}  // namespace ptfs::sys
