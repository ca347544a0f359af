#include "cmd/passthroughfs/sd_notify.h"

#include <stddef.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <cstring>

#include "sys/fd.h"

namespace ptfs::cmd {

bool NotifyServiceManager(const std::string& state) {
  const char* where = getenv("NOTIFY_SOCKET");
  if (where == nullptr || (where[0] != '/' && where[0] != '@')) return false;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  const size_t len = strlen(where);
  if (len >= sizeof(addr.sun_path)) return false;
  memcpy(addr.sun_path, where, len);
  if (addr.sun_path[0] == '@') addr.sun_path[0] = '\0';  // abstract
  const auto addr_len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + len +
                                                (where[0] == '/' ? 1 : 0));
  sys::UniqueFd fd(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return false;
  return ::sendto(fd.get(), state.data(), state.size(), MSG_NOSIGNAL,
                  reinterpret_cast<const sockaddr*>(&addr), addr_len) ==
         static_cast<ssize_t>(state.size());
}

}  // namespace ptfs::cmd
