// ParseFanotifyEvents: the source watch's reading of fanotify's FID-mode
// records, on buffers laid out as the kernel writes them.
#include <gtest/gtest.h>
#include <fcntl.h>
#include <sys/fanotify.h>

#include <cstring>
#include <string>

#include "mirror/source_watcher.h"

namespace ptfs::mirror {
namespace {

// Appends one info record of `type` carrying a handle (and a name).
void AddFidRecord(std::string* ev, uint8_t type, const std::string& f_handle, int32_t htype,
                  const std::string& name) {
  std::string rec(sizeof(fanotify_event_info_fid), '\0');
  struct file_handle fh {};
  fh.handle_bytes = static_cast<unsigned>(f_handle.size());
  fh.handle_type = htype;
  rec.append(reinterpret_cast<const char*>(&fh), sizeof(fh));
  rec += f_handle;
  if (type == FAN_EVENT_INFO_TYPE_DFID_NAME) rec += name + '\0';
  while (rec.size() % 4 != 0) rec += '\0';  // the kernel pads records
  fanotify_event_info_fid fid{};
  fid.hdr.info_type = type;
  fid.hdr.len = static_cast<uint16_t>(rec.size());
  fid.fsid.val[0] = 7;
  fid.fsid.val[1] = 9;
  std::memcpy(rec.data(), &fid, sizeof(fid));
  *ev += rec;
}

std::string Event(uint64_t mask, int32_t pid, const std::string& records) {
  fanotify_event_metadata meta{};
  meta.event_len = static_cast<uint32_t>(sizeof(meta) + records.size());
  meta.vers = FANOTIFY_METADATA_VERSION;
  meta.metadata_len = sizeof(meta);
  meta.mask = mask;
  meta.fd = FAN_NOFD;
  meta.pid = pid;
  return std::string(reinterpret_cast<const char*>(&meta), sizeof(meta)) + records;
}

TEST(FanotifyParse, DirentAndObjectEvents) {
  std::string create;
  AddFidRecord(&create, FAN_EVENT_INFO_TYPE_DFID_NAME, "DIRHANDL", 1, "new-file");
  std::string attrib;
  AddFidRecord(&attrib, FAN_EVENT_INFO_TYPE_DFID_NAME, "DIRHANDL", 1, "f");
  AddFidRecord(&attrib, FAN_EVENT_INFO_TYPE_FID, "OBJHANDLE123", 2, "");
  const std::string buf = Event(FAN_CREATE, 42, create) + Event(FAN_ATTRIB, 43, attrib);
  auto events = ParseFanotifyEvents({buf.data(), buf.size()});
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].mask, static_cast<uint64_t>(FAN_CREATE));
  EXPECT_EQ(events[0].pid, 42);
  EXPECT_EQ(events[0].name, "new-file");
  ASSERT_EQ(events[0].dir_handle.size(), sizeof(struct file_handle) + 8);
  EXPECT_EQ(events[0].dir_handle.substr(sizeof(struct file_handle)), "DIRHANDL");
  EXPECT_TRUE(events[0].object_handle.empty());
  EXPECT_EQ(events[1].name, "f");
  EXPECT_EQ(events[1].object_handle.substr(sizeof(struct file_handle)), "OBJHANDLE123");
  struct file_handle fh;
  std::memcpy(&fh, events[1].object_handle.data(), sizeof(fh));
  EXPECT_EQ(fh.handle_type, 2);
  EXPECT_EQ(fh.handle_bytes, 12u);
  EXPECT_NE(events[1].fsid, 0u);
}

TEST(FanotifyParse, OverflowIsReported) {
  const std::string buf = Event(FAN_Q_OVERFLOW, 0, "");
  auto events = ParseFanotifyEvents({buf.data(), buf.size()});
  ASSERT_EQ(events.size(), 1u);
  EXPECT_TRUE(events[0].overflow);
}

TEST(FanotifyParse, NeverReadsPastTheBuffer) {
  std::string rec;
  AddFidRecord(&rec, FAN_EVENT_INFO_TYPE_DFID_NAME, "DIRHANDL", 1, "name");
  const std::string whole = Event(FAN_DELETE, 1, rec);
  // Every truncation parses without crashing and yields no half event.
  for (size_t n = 0; n < whole.size(); ++n) {
    std::string cut = whole.substr(0, n);
    auto events = ParseFanotifyEvents({cut.data(), cut.size()});
    EXPECT_TRUE(events.empty()) << n;
  }
  // A record whose handle claims more bytes than the record holds is skipped.
  std::string bad = whole;
  struct file_handle fh;
  const size_t at = sizeof(fanotify_event_metadata) + sizeof(fanotify_event_info_fid);
  std::memcpy(&fh, bad.data() + at, sizeof(fh));
  fh.handle_bytes = 4000;
  std::memcpy(bad.data() + at, &fh, sizeof(fh));
  auto events = ParseFanotifyEvents({bad.data(), bad.size()});
  ASSERT_EQ(events.size(), 1u);
  EXPECT_TRUE(events[0].dir_handle.empty());
  EXPECT_TRUE(events[0].name.empty());
}

}  // namespace
}  // namespace ptfs::mirror
