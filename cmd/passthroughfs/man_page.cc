#include "cmd/passthroughfs/man_page.h"

#include <span>
#include <string>
#include <vector>

#include "cmd/passthroughfs/options.h"

namespace ptfs::cmd {
namespace {

// Text for man(7): backslashes and hyphens escaped (so options copy as
// ASCII '-'), and a line that would start with a control character made
// plain text.
std::string Roff(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == '\\') {
      out += "\\e";
    } else if (c == '-') {
      out += "\\-";
    } else {
      out += c;
    }
  }
  if (!out.empty() && (out[0] == '.' || out[0] == '\'')) out.insert(0, "\\&");
  return out;
}

// Where the page's sections start in the option table, and what they say
// before their options. A section runs until the next one's first option.
struct Section {
  std::string_view first;  // long name, or -o key for mount options
  std::string_view heading;
  bool subsection;         // .SS under the previous .SH
  std::string_view intro;  // man(7) markup
};

constexpr Section kSections[] = {
    {"foreground", "OPTIONS", false,
     "Each option is also accepted as \\fB\\-o\\fR \\fIKEY\\fR[=\\fIVALUE\\fR], so that an "
     "fstab line can carry it. Anything not listed here is an error, so that a typo does not "
     "mount with the wrong policy.\n"},
    {"hide", "POLICY MODULES", false,
     "A policy module sees every request, handles those its policy concerns and forwards the "
     "rest. Modules stack in the order their options are given. Each takes kernel passthrough "
     "away only from the files and directories it must see; every other file keeps it.\n"},
    {"hide", "Hiding names", true,
     "Hidden names do not exist through the mount: they are left out of listings, looking "
     "them up gives ENOENT, and creating, renaming or linking onto them fails with EACCES. "
     "A directory on the way to a path glob's matches cannot be renamed.\n"
     ".PP\n.EX\npassthroughfs \\-\\-hide=\\(aq*.key\\(aq \\-\\-hide=.git /srv/repo /mnt/repo\n"
     "/srv/repo /mnt/repo fuse.passthroughfs hide=*.key,hide=.git 0 0\n.EE\n"},
    {"read-only", "Read-only subtrees", true,
     "Every change under a read-only path fails with EROFS, including writes through files "
     "opened before, renames into and out of the subtree and hard links to files inside it.\n"
     ".PP\n.EX\npassthroughfs \\-\\-read\\-only=etc \\-\\-read\\-only=releases/v1 /srv/site "
     "/mnt/site\n.EE\n"},
    {"map-owner", "Owner mapping", true,
     "As bindfs's \\fB\\-\\-map\\fR: owners are translated both ways, for what the mount "
     "shows and for what it stores.\n"
     ".PP\n.EX\npassthroughfs \\-\\-map\\-owner=alice:www\\-data \\-\\-map\\-group=alice:www\\-data "
     "/home/alice/site /srv/site\n.EE\n"},
    {"audit", "Audit log", true,
     "One JSON line per change, written whole with O_APPEND; none is lost under concurrent "
     "load. Send SIGHUP after rotating the file (logrotate's postrotate).\n"
     ".PP\n.EX\npassthroughfs \\-\\-audit=/var/log/share.jsonl /srv/share /mnt/share\n.EE\n"},
    {"help", "INFORMATION", false, ""},
    {"allow_other", "MOUNT OPTIONS", false,
     "Given as \\fB\\-o\\fR \\fIOPT\\fR[,\\fIOPT\\fR...], on the command line or in fstab.\n"},
};

// "\fB\-t\fR, \fB\-\-threads\fR=\fIN\fR, \fB\-o threads\fR=\fIN\fR", or for
// -o only options "\fBro\fR, \fBrw\fR".
std::string Tag(std::span<const OptionSpec> group) {
  const OptionSpec& first = group.front();
  auto value = [](const OptionSpec& s) {
    return s.value.empty() ? std::string() : "=\\fI" + Roff(s.value) + "\\fR";
  };
  std::string tag;
  if (!first.long_name.empty()) {
    if (first.short_name != 0) tag += "\\fB\\-" + std::string(1, first.short_name) + "\\fR, ";
    tag += "\\fB\\-\\-" + Roff(first.long_name) + "\\fR" + value(first);
    if (!first.key.empty()) tag += ", \\fB\\-o " + Roff(first.key) + "\\fR" + value(first);
    return tag;
  }
  for (const OptionSpec& s : group) {
    if (!tag.empty()) tag += ", ";
    tag += "\\fB" + Roff(s.key) + "\\fR" + value(s);
  }
  return tag;
}

std::string_view NameOf(const OptionSpec& s) { return s.long_name.empty() ? s.key : s.long_name; }

}  // namespace

std::string ManPage(std::string_view version) {
  std::string page = ".TH PASSTHROUGHFS 8 \"\" \"passthroughfs " + std::string(version) +
                     "\" \"System Administration\"\n"
                     ".SH NAME\n"
                     "passthroughfs \\- mirror a directory through FUSE, with policies\n"
                     ".SH SYNOPSIS\n"
                     ".B passthroughfs\n"
                     "[\\fIoptions\\fR] \\fISOURCE\\fR \\fIMOUNTPOINT\\fR\n"
                     ".br\n"
                     ".B mount \\-t fuse.passthroughfs\n"
                     "\\fISOURCE\\fR \\fIMOUNTPOINT\\fR [\\fB\\-o\\fR \\fIoptions\\fR]\n"
                     ".br\n"
                     ".B passthroughfs status\n"
                     "[\\fB\\-\\-json\\fR] \\fIMOUNTPOINT\\fR\n"
                     ".br\n"
                     ".B passthroughfs upgrade\n"
                     "\\fIMOUNTPOINT\\fR\n"
                     ".SH DESCRIPTION\n"
                     "\\fBpassthroughfs\\fR shows the directory \\fISOURCE\\fR at "
                     "\\fIMOUNTPOINT\\fR through FUSE. Where the kernel offers it, file reads, "
                     "writes and mmap go from the kernel straight to SOURCE's files (kernel "
                     "passthrough); everything else is answered by the daemon, as each caller "
                     "(with \\fB\\-o allow_other\\fR, as root). It daemonizes once the mount "
                     "is live; SIGTERM or SIGINT unmounts and exits, SIGUSR1 writes its "
                     "counters to the log (and \\fB\\-\\-stats\\-file\\fR).\n";
  const std::span<const OptionSpec> table = OptionTable();
  size_t next_section = 0;
  for (size_t i = 0; i < table.size();) {
    size_t n = 1;  // the entry and those shown with it (--help's grouping)
    while (i + n < table.size() && table[i + n].help.empty()) ++n;
    while (next_section < std::size(kSections) &&
           kSections[next_section].first == NameOf(table[i])) {
      const Section& s = kSections[next_section++];
      page += (s.subsection ? ".SS " : ".SH ") + std::string(s.heading) + "\n";
      if (!s.intro.empty()) page += std::string(s.intro) + ".PP\n";
    }
    page += ".TP\n" + Tag(table.subspan(i, n)) + "\n" + Roff(table[i].help) + "\n";
    i += n;
  }
  page +=
      ".SH STATUS\n"
      "\\fBpassthroughfs status\\fR \\fIMOUNTPOINT\\fR asks the daemon serving that mount "
      "for its version, pid, the options it was given, what the kernel negotiated (protocol, "
      "kernel passthrough, transport, source watch) and every counter, as "
      "\\fIkey\\fB: \\fIvalue\\fR lines; \\fB\\-\\-json\\fR prints one JSON object "
      "instead. Only root and the user who mounted may ask. The daemon is found through "
      "/proc/self/mountinfo, never by a stat of the mount, and waits at most 5 seconds for "
      "the answer, so a hung or stopped daemon makes it fail instead of hang.\n"
      ".SH RESTART AND UPGRADE\n"
      "With \\fB\\-\\-restartable\\fR the process that mounts stays as a supervisor "
      "holding the FUSE connection, and serves in a child process. If the server dies "
      "(\\fBkill \\-9\\fR, a crash), the supervisor starts another, which takes the "
      "connection over: nothing is unmounted, open files, working directories and mappings "
      "in the mount go on, and the requests the dead server had not answered are sent again. "
      "\\fBpassthroughfs upgrade\\fR \\fIMOUNTPOINT\\fR runs the binary now on disk "
      "the same way after the running server has answered what it holds, so that a new "
      "version serves without an unmount; it prints the new server's pid and version. A "
      "crash can still fail a non-idempotent request that was in the server's hands "
      "(EEXIST from an O_EXCL create or mkdir, ENOENT from an unlink or rename carried out "
      "twice) and loses the POSIX locks the server kept (\\fB\\-\\-locks=kernel\\fR keeps "
      "them in the kernel).\n"
      ".SH LOGS\n"
      "In the foreground the daemon logs to stderr. Once daemonized it logs to syslog "
      "(\\fBjournalctl \\-t passthroughfs\\fR); where nothing listens on /dev/log, to "
      "/var/log/passthroughfs.log for root and to "
      "$XDG_STATE_HOME/passthroughfs.log (~/.local/state) for other users, saying so once on "
      "stderr. \\fB\\-\\-log\\fR and \\fB\\-\\-log\\-level\\fR choose.\n"
      ".SH NOTES\n"
      "\\fBmount\\fR(8) and fstab lines of type \\fBfuse.passthroughfs\\fR start the "
      "daemon through \\fBmount.fuse3\\fR(8), which finds \\fBpassthroughfs\\fR on PATH:\n"
      ".PP\n.EX\n/srv/data /mnt/data fuse.passthroughfs defaults,allow_other,nofail 0 0\n.EE\n"
      ".SH SEE ALSO\n"
      "\\fBfuse\\fR(4), \\fBmount.fuse3\\fR(8), \\fBfusermount3\\fR(1), \\fBbindfs\\fR(1)\n";
  return page;
}

}  // namespace ptfs::cmd
