// One JSON object on one line, built field by field (the audit's format).
//
// Strings are written as JSON wants them: '"', '\\' and control characters
// escaped. File names are bytes, not always UTF-8: a value that is not valid
// UTF-8 is written with each invalid byte as U+FFFD, and the exact bytes
// follow in a second field, NAME_hex, so nothing about a name is lost or
// ambiguous.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace ptfs::modules {

// Length of the valid UTF-8 sequence at the start of `s` (1-4), or 0.
inline size_t Utf8SequenceLength(std::string_view s) {
  const auto b = [&](size_t i) { return static_cast<unsigned char>(s[i]); };
  const unsigned char c = b(0);
  if (c < 0x80) return 1;
  size_t n;
  uint32_t cp;
  if ((c & 0xE0) == 0xC0) {
    n = 2;
    cp = c & 0x1F;
  } else if ((c & 0xF0) == 0xE0) {
    n = 3;
    cp = c & 0x0F;
  } else if ((c & 0xF8) == 0xF0) {
    n = 4;
    cp = c & 0x07;
  } else {
    return 0;
  }
  if (s.size() < n) return 0;
  for (size_t i = 1; i < n; ++i) {
    if ((b(i) & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (b(i) & 0x3F);
  }
  // Overlong forms, surrogates and values past U+10FFFF are invalid.
  static constexpr uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
  if (cp < kMin[n] || (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF) return 0;
  return n;
}

class JsonLine {
 public:
  JsonLine() {
    text_.reserve(256);  // an audit line, without growing
    text_ += '{';
  }

  JsonLine& Str(std::string_view key, std::string_view value) {
    Key(key);
    const bool exact = Quote(value);
    if (!exact) {
      Key(std::string(key) + "_hex");
      text_ += '"';
      static constexpr char kHex[] = "0123456789abcdef";
      for (unsigned char c : value) {
        text_ += kHex[c >> 4];
        text_ += kHex[c & 15];
      }
      text_ += '"';
    }
    return *this;
  }
  // A string, or null when absent (a node with no path any more).
  JsonLine& OptStr(std::string_view key, const std::optional<std::string>& value) {
    if (value) return Str(key, *value);
    Key(key);
    text_ += "null";
    return *this;
  }
  JsonLine& Int(std::string_view key, int64_t value) {
    Key(key);
    text_ += std::to_string(value);
    return *this;
  }
  JsonLine& Bool(std::string_view key, bool value) {
    Key(key);
    text_ += value ? "true" : "false";
    return *this;
  }
  // The finished line, with its newline.
  std::string Take() && {
    text_ += "}\n";
    return std::move(text_);
  }

 private:
  void Key(std::string_view key) {
    if (text_.size() > 1) text_ += ',';
    Quote(key);
    text_ += ':';
  }
  // Bytes written as they are: printable ASCII but '"' and '\\'.
  static constexpr auto kPlain = [] {
    std::array<bool, 256> plain{};
    for (int c = 0x20; c < 0x7F; ++c) plain[c] = c != '"' && c != '\\';
    return plain;
  }();
  // Appends `s` as a JSON string; false if it was not valid UTF-8.
  bool Quote(std::string_view s) {
    bool exact = true;
    text_ += '"';
    for (size_t i = 0; i < s.size();) {
      // Printable ASCII other than '"' and '\\' goes as it is, a run at a
      // time (nearly every byte of a path).
      size_t run = i;
      while (run < s.size() && kPlain[static_cast<unsigned char>(s[run])]) ++run;
      if (run > i) {
        text_.append(s.data() + i, run - i);
        i = run;
        continue;
      }
      const unsigned char c = static_cast<unsigned char>(s[i]);
      if (c == '"' || c == '\\') {
        text_ += '\\';
        text_ += static_cast<char>(c);
        ++i;
      } else if (c < 0x20 || c == 0x7F) {
        static constexpr char kHex[] = "0123456789abcdef";
        text_ += "\\u00";
        text_ += kHex[c >> 4];
        text_ += kHex[c & 15];
        ++i;
      } else if (const size_t n = Utf8SequenceLength(s.substr(i)); n > 0) {
        text_.append(s.substr(i, n));
        i += n;
      } else {
        text_ += "\xEF\xBF\xBD";  // U+FFFD
        exact = false;
        ++i;
      }
    }
    text_ += '"';
    return exact;
  }

  std::string text_;
};

}  // namespace ptfs::modules
