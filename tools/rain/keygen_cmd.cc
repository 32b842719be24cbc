// `rain keygen FILE`: a new cluster key (docs/raind.md §2) — 32 bytes from libsodium's CSPRNG as
// 64 hex characters and a newline, mode 0600. Refuses to overwrite a key unless --force: losing
// the old key cuts this node off from the cluster.
#include <cstdio>
#include <memory>
#include <string>

#include "commands.h"
#include "local_cluster.h"

namespace rain::cli {

void AddKeygenCommand(CLI::App& app) {
  struct Flags {
    std::string path;
    bool force = false;
  };
  auto flags = std::make_shared<Flags>();
  CLI::App* cmd = app.add_subcommand("keygen",
                                     "Write a new random cluster key (64 hex characters, "
                                     "mode 0600) to FILE for raind's key_file");
  cmd->add_option("FILE", flags->path, "Where to write the key")->required();
  cmd->add_flag("--force", flags->force, "Overwrite FILE if it exists");
  cmd->footer("Exit status: 0 written; 1 FILE exists (without --force) or cannot be written.");
  cmd->callback([flags] {
    Status s = WriteKeyFile(flags->path, flags->force);
    if (!s.ok()) {
      std::fprintf(stderr, "rain keygen: %s\n", s.ToString().c_str());
      ExitStatus() = 1;
      return;
    }
    std::printf("wrote a new cluster key to %s (mode 0600)\n", flags->path.c_str());
  });
}

}  // namespace rain::cli
