#include "proto/request.h"

#include <algorithm>

namespace ptfs::proto {
namespace {

using abi::fuse_in_header;

// Takes one NUL-terminated string off the front of `body`.
bool TakeString(std::span<const char>* body, std::string_view* out) {
  const char* begin = body->data();
  const char* nul = static_cast<const char*>(std::memchr(begin, '\0', body->size()));
  if (nul == nullptr) return false;
  *out = std::string_view(begin, nul - begin);
  *body = body->subspan(nul - begin + 1);
  return true;
}

// An entry name as the kernel must send it: a single path component.
Errno CheckEntryName(std::string_view name) {
  if (name.empty() || name == "." || name == "..") return Errno(EINVAL);
  if (name.size() > kNameMax) return Errno(ENAMETOOLONG);
  if (name.find('/') != std::string_view::npos) return Errno(EINVAL);
  return Errno::Ok();
}

Errno CheckXattrName(std::string_view name) {
  if (name.empty() || name.size() > kXattrNameMax) return Errno(ERANGE);
  return Errno::Ok();
}

// The names a request carries (OpInfo::strings), taken from the front of
// `*body` and checked.
Errno DecodeStrings(const OpInfo& op, std::span<const char>* body_in, Request* r) {
  std::span<const char>& body = *body_in;
  switch (op.strings) {
    case Strings::kNone:
      break;
    case Strings::kName:
      if (!TakeString(&body, &r->name)) return Errno(EINVAL);
      PTFS_TRY(CheckEntryName(r->name));
      break;
    case Strings::kLookupName:
      // With FUSE_EXPORT_SUPPORT the kernel looks up "." (a nodeid it may
      // have forgotten, to decode a file handle) and ".." (a directory's
      // parent); the filesystem refuses them unless it exports.
      if (!TakeString(&body, &r->name)) return Errno(EINVAL);
      if (r->name != "." && r->name != "..") PTFS_TRY(CheckEntryName(r->name));
      break;
    case Strings::kTmpName:
      if (!TakeString(&body, &r->name)) return Errno(EINVAL);
      break;
    case Strings::kTwoNames:
      if (!TakeString(&body, &r->name) || !TakeString(&body, &r->name2)) return Errno(EINVAL);
      PTFS_TRY(CheckEntryName(r->name));
      PTFS_TRY(CheckEntryName(r->name2));
      break;
    case Strings::kNameAndPath:
      if (!TakeString(&body, &r->name) || !TakeString(&body, &r->name2)) return Errno(EINVAL);
      PTFS_TRY(CheckEntryName(r->name));
      if (r->name2.empty()) return Errno(ENOENT);
      if (r->name2.size() >= kPathMax) return Errno(ENAMETOOLONG);
      break;
    case Strings::kXattrName:
      if (!TakeString(&body, &r->name)) return Errno(EINVAL);
      PTFS_TRY(CheckXattrName(r->name));
      break;
    case Strings::kXattrAndValue: {
      if (!TakeString(&body, &r->name)) return Errno(EINVAL);
      PTFS_TRY(CheckXattrName(r->name));
      const auto in = r->Arg<abi::fuse_setxattr_in>();
      if (in.size > kXattrSizeMax) return Errno(E2BIG);
      if (body.size() != in.size) return Errno(EINVAL);
      r->payload = body;
      body = {};
      break;
    }
  }
  return Errno::Ok();
}

// What follows the fixed argument and the names (OpInfo::payload).
Errno DecodePayload(const OpInfo& op, std::span<const char> body, Request* r) {
  switch (op.payload) {
    case Payload::kNone:
      // Newer kernels may append fields we do not know; tolerate trailing bytes.
      break;
    case Payload::kWriteData: {
      const auto in = r->Arg<abi::fuse_write_in>();
      if (body.size() != in.size) return Errno(EINVAL);
      r->payload = body;
      break;
    }
    case Payload::kForgetArray: {
      const auto in = r->Arg<abi::fuse_batch_forget_in>();
      if (body.size() / sizeof(abi::fuse_forget_one) < in.count) return Errno(EINVAL);
      r->payload = body.first(in.count * sizeof(abi::fuse_forget_one));
      break;
    }
    case Payload::kAny:
      r->payload = body;
      break;
  }
  return Errno::Ok();
}

Errno DecodeBody(std::span<const char> body, const DecodeOptions& opts, Request* r) {
  const OpInfo& op = *r->op;
  size_t fixed = op.fixed_size;
  if (r->header.opcode == abi::FUSE_SETXATTR && opts.setxattr_ext) {
    fixed = sizeof(abi::fuse_setxattr_in);
  }
  if (body.size() < fixed) return Errno(EINVAL);
  if (r->header.opcode == abi::FUSE_INIT) {
    fixed = std::min(body.size(), sizeof(abi::fuse_init_in));
  }
  r->arg = body.first(fixed);
  body = body.subspan(fixed);

  PTFS_TRY(DecodeStrings(op, &body, r));
  // An entry name is the last thing in its request (extensions were split
  // off above): bytes after its NUL mean an embedded NUL ("a\0/../b"), which
  // must not be read as the name "a".
  if ((op.strings == Strings::kName || op.strings == Strings::kLookupName ||
       op.strings == Strings::kTwoNames || op.strings == Strings::kNameAndPath) &&
      !body.empty()) {
    return Errno(EINVAL);
  }

  return DecodePayload(op, body, r);
}

// Parses the extension area; unknown extension types are skipped.
Errno DecodeExtensions(std::span<const char> ext, Request* r) {
  while (!ext.empty()) {
    if (ext.size() < sizeof(abi::fuse_ext_header)) return Errno(EINVAL);
    abi::fuse_ext_header eh;
    std::memcpy(&eh, ext.data(), sizeof(eh));
    if (eh.size < sizeof(eh) || eh.size > ext.size() || eh.size % 8 != 0) return Errno(EINVAL);
    if (eh.type == abi::FUSE_EXT_GROUPS) {
      auto body = ext.subspan(sizeof(eh), eh.size - sizeof(eh));
      if (body.size() < sizeof(abi::fuse_supp_groups)) return Errno(EINVAL);
      uint32_t nr;
      std::memcpy(&nr, body.data(), sizeof(nr));
      body = body.subspan(sizeof(abi::fuse_supp_groups));
      if (body.size() / sizeof(uint32_t) < nr) return Errno(EINVAL);
      // The extension area follows the last string directly, so it has no
      // particular alignment: copy the groups out rather than view them.
      r->groups.resize(nr);
      if (nr != 0) std::memcpy(r->groups.data(), body.data(), nr * sizeof(uint32_t));
    }
    ext = ext.subspan(eh.size);
  }
  return Errno::Ok();
}

}  // namespace

bool DecodeRequest(std::span<const char> msg, const DecodeOptions& opts, Request* out,
                   DecodeFailure* failure) {
  *out = Request{};
  *failure = DecodeFailure{};
  failure->error = Errno(EIO);
  if (msg.size() < offsetof(fuse_in_header, nodeid)) return false;  // no unique: drop
  std::memcpy(&failure->unique, msg.data() + offsetof(fuse_in_header, unique), sizeof(uint64_t));
  std::memcpy(&failure->opcode, msg.data() + offsetof(fuse_in_header, opcode), sizeof(uint32_t));
  // FORGET, BATCH_FORGET, INTERRUPT and NOTIFY_REPLY are never answered, not
  // even when malformed: nothing in the kernel waits for a reply to them.
  const OpInfo& op = LookupOp(failure->opcode);
  failure->can_reply = op.name == nullptr || op.answered;
  failure->error = Errno(EIO);
  if (msg.size() < sizeof(fuse_in_header)) return false;
  std::memcpy(&out->header, msg.data(), sizeof(fuse_in_header));
  if (out->header.len != msg.size()) return false;

  const size_t ext_len = static_cast<size_t>(out->header.total_extlen) * 8;
  if (ext_len > msg.size() - sizeof(fuse_in_header)) return false;
  auto body = msg.subspan(sizeof(fuse_in_header), msg.size() - sizeof(fuse_in_header) - ext_len);
  auto ext = msg.subspan(msg.size() - ext_len);

  if (op.name == nullptr) {
    failure->error = Errno(ENOSYS);
    return false;
  }
  out->op = &op;
  if (Errno e = DecodeBody(body, opts, out)) {
    failure->error = e;
    return false;
  }
  if (Errno e = DecodeExtensions(ext, out)) {
    failure->error = e;
    return false;
  }
  return true;
}

}  // namespace ptfs::proto
