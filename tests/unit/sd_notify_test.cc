// sd_notify(3)'s datagram, as the daemon sends it to systemd.
#include "cmd/passthroughfs/sd_notify.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <string>

#include "sys/fd.h"

namespace ptfs::cmd {
namespace {

// A datagram socket bound to `name` ('@' first: abstract).
sys::UniqueFd Listen(const std::string& name) {
  sys::UniqueFd fd(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  memcpy(addr.sun_path, name.data(), name.size());
  socklen_t len = offsetof(sockaddr_un, sun_path) + name.size();
  if (name[0] == '@') {
    addr.sun_path[0] = '\0';
  } else {
    ++len;
  }
  EXPECT_EQ(::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), len), 0) << strerror(errno);
  return fd;
}

std::string Receive(int fd) {
  char buf[256];
  const ssize_t n = ::recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
  return n < 0 ? std::string("(nothing)") : std::string(buf, static_cast<size_t>(n));
}

TEST(SdNotify, SendsOneDatagramToAPath) {
  char dir[] = "/tmp/ptfs-sd-notify.XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  const std::string path = std::string(dir) + "/notify";
  sys::UniqueFd fd = Listen(path);
  setenv("NOTIFY_SOCKET", path.c_str(), 1);
  EXPECT_TRUE(NotifyServiceManager("READY=1\nSTATUS=mounted"));
  EXPECT_EQ(Receive(fd.get()), "READY=1\nSTATUS=mounted");
  unsetenv("NOTIFY_SOCKET");
  unlink(path.c_str());
  rmdir(dir);
}

TEST(SdNotify, SendsToAnAbstractName) {
  const std::string name = "@ptfs-sd-notify-test-" + std::to_string(getpid());
  sys::UniqueFd fd = Listen(name);
  setenv("NOTIFY_SOCKET", name.c_str(), 1);
  EXPECT_TRUE(NotifyServiceManager("STOPPING=1"));
  EXPECT_EQ(Receive(fd.get()), "STOPPING=1");
  unsetenv("NOTIFY_SOCKET");
}

TEST(SdNotify, NothingWithoutTheVariableOrWithAnInvalidOne) {
  unsetenv("NOTIFY_SOCKET");
  EXPECT_FALSE(NotifyServiceManager("READY=1"));
  setenv("NOTIFY_SOCKET", "relative/path", 1);
  EXPECT_FALSE(NotifyServiceManager("READY=1"));
  setenv("NOTIFY_SOCKET", "/nonexistent-dir/notify", 1);
  EXPECT_FALSE(NotifyServiceManager("READY=1"));
  unsetenv("NOTIFY_SOCKET");
}

}  // namespace
}  // namespace ptfs::cmd
