// The raind config (docs/raind.md §2): a good file resolves to the right options; every bad file
// is refused with an error naming the file and the field.
#include "rain/node/config.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace rain::node {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

const char kKey[] = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n";

class ConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("raind_config_test_" + std::to_string(::getpid()));
    fs::create_directories(dir_);
    WriteKey(kKey, 0600);
  }
  void TearDown() override { fs::remove_all(dir_); }

  void WriteKey(const std::string& text, mode_t mode) {
    std::ofstream(dir_ / "cluster.key") << text;
    ::chmod((dir_ / "cluster.key").c_str(), mode);
  }
  std::string Path() const { return (dir_ / "raind.toml").string(); }
  Result<NodeConfig> Parse(const std::string& text) { return ParseConfig(text, Path()); }

  fs::path dir_;
};

const std::string kNodes = R"(
[[node]]
id = 1
addresses = ["127.0.0.1:17101", "127.0.0.2:17101"]
[[node]]
id = 2
addresses = ["127.0.0.1:17102", "127.0.0.2:17102"]
)";

const std::string kHead = R"(cluster = "local"
key_file = "cluster.key"
node_id = 1
data_dir = "node-1"
)";

TEST_F(ConfigTest, GoodConfigResolvesEveryLayer) {
  Result<NodeConfig> c = Parse(kHead + "log_level = \"debug\"\n" + kNodes +
                               "[membership]\ntoken_loss_base_ms = 120\nidle_token_hold_ms = 1.5\n"
                               "[transport]\nrto_min_ms = 7\ntransmissions_per_path_max = 4\n");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->cluster, "local");
  EXPECT_EQ(c->self, NodeId{1});
  EXPECT_EQ(c->log_level, LogLevel::kDebug);
  EXPECT_EQ(c->data_dir, (dir_ / "node-1").string());
  EXPECT_EQ(c->control_socket, (dir_ / "node-1" / "control.sock").string());
  EXPECT_EQ(c->key_file, (dir_ / "cluster.key").string());
  ASSERT_EQ(c->nodes.size(), 2u);
  EXPECT_EQ(c->transport.self, NodeId{1});
  ASSERT_EQ(c->transport.local_addresses.size(), 2u);
  EXPECT_EQ(c->transport.local_addresses[1].ToString(), "127.0.0.2:17101");
  EXPECT_EQ(c->transport.cluster_key[1], 0x11);
  EXPECT_EQ(c->transport.cluster_id, TransportClusterId("local"));
  EXPECT_EQ(c->transport.rto_min, 7ms);
  EXPECT_EQ(c->transport.transmissions_per_path_max, 4u);
  EXPECT_EQ(c->gcm.self, NodeId{1});
  EXPECT_EQ(c->gcm.eligible, (std::vector<NodeId>{NodeId{1}, NodeId{2}}));
  EXPECT_EQ(c->gcm.cluster_id, GcmClusterId("local"));
  EXPECT_EQ(c->gcm.options.token_loss_base, 120ms);
  EXPECT_EQ(c->gcm.options.idle_token_hold, 1500us);
  // Unset options keep raind's defaults.
  EXPECT_EQ(c->gcm.options.call911_reply_timeout, DefaultRingOptions().call911_reply_timeout);
  EXPECT_EQ(c->transport.ping_interval, DefaultTransportOptions().ping_interval);
  // --check-config prints every option and never the key.
  std::string d = DescribeConfig(*c);
  EXPECT_NE(d.find("rto_min_ms = 7"), std::string::npos) << d;
  EXPECT_NE(d.find("token_loss_base_ms = 120"), std::string::npos) << d;
  EXPECT_EQ(d.find("00112233"), std::string::npos) << d;
  // The printed form parses back to the same options.
  Result<NodeConfig> again = Parse(d);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(again->transport.rto_min, c->transport.rto_min);
  EXPECT_EQ(again->gcm.options.idle_token_hold, c->gcm.options.idle_token_hold);
}

TEST_F(ConfigTest, AbsoluteAndExplicitPaths) {
  Result<NodeConfig> c = Parse(R"(cluster = "c"
key_file = ")" + (dir_ / "cluster.key").string() +
                               R"("
node_id = 2
data_dir = "/var/lib/rain/x"
control_socket = "ctl.sock"
)" + kNodes);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->data_dir, "/var/lib/rain/x");
  EXPECT_EQ(c->control_socket, (dir_ / "ctl.sock").string());
}

struct BadCase {
  const char* name;
  std::string text;
  std::string field;    // must appear in the message
  std::string problem;  // must appear in the message
};

TEST_F(ConfigTest, BadConfigsNameTheFieldAndTheProblem) {
  const BadCase cases[] = {
      {"not toml", "cluster = ", "line 1", ""},
      {"unknown top key", kHead + "colour = \"red\"\n" + kNodes, "colour", "unknown key"},
      {"missing cluster", "key_file = \"cluster.key\"\nnode_id = 1\ndata_dir = \"d\"\n" + kNodes,
       "cluster", "missing"},
      {"bad cluster name",
       "cluster = \"a b\"\nkey_file = \"cluster.key\"\nnode_id = 1\n"
       "data_dir = \"d\"\n" +
           kNodes,
       "cluster", "[A-Za-z0-9_-]"},
      {"cluster not string",
       "cluster = 5\nkey_file = \"cluster.key\"\nnode_id = 1\n"
       "data_dir = \"d\"\n" +
           kNodes,
       "cluster", "must be a string"},
      {"missing node_id",
       "cluster = \"c\"\nkey_file = \"cluster.key\"\ndata_dir = \"d\"\n" + kNodes, "node_id",
       "missing"},
      {"node_id not a node",
       "cluster = \"c\"\nkey_file = \"cluster.key\"\nnode_id = 3\n"
       "data_dir = \"d\"\n" +
           kNodes,
       "node_id", "not the id of any"},
      {"node_id zero",
       "cluster = \"c\"\nkey_file = \"cluster.key\"\nnode_id = 0\n"
       "data_dir = \"d\"\n" +
           kNodes,
       "node_id", "1..65535"},
      {"bad log level", kHead + "log_level = \"loud\"\n" + kNodes, "log_level", "debug, info"},
      {"no nodes", kHead, "[[node]]", "missing"},
      {"duplicate node id", kHead + kNodes + "[[node]]\nid = 2\naddresses = [\"10.0.0.1:1\"]\n",
       "[[node]] id = 2", "used twice"},
      {"node id too big", kHead + kNodes + "[[node]]\nid = 70000\naddresses = [\"10.0.0.1:1\"]\n",
       "[[node]] #3 id", "1..65535"},
      {"unknown node key",
       kHead + kNodes + "[[node]]\nid = 3\nport = 5\naddresses = [\"10.0.0.1:1\"]\n",
       "[[node]] #3 port", "unknown key"},
      {"address without port", kHead + kNodes + "[[node]]\nid = 3\naddresses = [\"10.0.0.1\"]\n",
       "[[node]] id = 3 addresses[0]", "ip:port"},
      {"address port zero", kHead + kNodes + "[[node]]\nid = 3\naddresses = [\"10.0.0.1:0\"]\n",
       "addresses[0]", "1..65535"},
      {"address not ip", kHead + kNodes + "[[node]]\nid = 3\naddresses = [\"host:7\"]\n",
       "addresses[0]", "not an IPv4 address"},
      {"no addresses", kHead + kNodes + "[[node]]\nid = 3\naddresses = []\n", "addresses", "1..8"},
      {"address shared", kHead + kNodes + "[[node]]\nid = 3\naddresses = [\"127.0.0.1:17101\"]\n",
       "[[node]] id = 3 addresses", "used by two nodes"},
      {"unknown transport key", kHead + kNodes + "[transport]\nrto_min = 5\n",
       "[transport] rto_min", "unknown key"},
      {"negative duration", kHead + kNodes + "[membership]\ntoken_loss_base_ms = -1\n",
       "[membership] token_loss_base_ms", "milliseconds"},
      {"count as float", kHead + kNodes + "[transport]\ntransmissions_per_path_max = 2.5\n",
       "[transport] transmissions_per_path_max", "integer"},
      {"inconsistent ring options",
       kHead + kNodes +
           "[membership]\ncall911_retry_min_ms = 90\n"
           "call911_retry_max_ms = 10\n",
       "[membership]", ""},
      {"keep-alive slower than half the token-loss base",
       kHead + kNodes + "[membership]\npass_keepalive_interval_ms = 60\n", "[membership]",
       "pass_keepalive_interval"},
      {"transport option refused", kHead + kNodes + "[transport]\ntransmissions_per_path_max = 0\n",
       "[transport]", ""},
      {"membership not a table", kHead + "membership = 3\n" + kNodes, "membership", "table"},
      {"socket path too long",
       kHead + "control_socket = \"/" + std::string(120, 'x') + "\"\n" + kNodes, "control_socket",
       "longer than 107"},
  };
  for (const BadCase& c : cases) {
    Result<NodeConfig> r = Parse(c.text);
    ASSERT_FALSE(r.ok()) << c.name;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << c.name;
    const std::string& m = r.status().message();
    EXPECT_EQ(m.rfind(Path() + ": ", 0), 0u) << c.name << ": " << m;
    EXPECT_NE(m.find(c.field), std::string::npos) << c.name << ": " << m;
    EXPECT_NE(m.find(c.problem), std::string::npos) << c.name << ": " << m;
  }
}

TEST_F(ConfigTest, KeyFileMustBePrivateAndHex) {
  const std::string text = kHead + kNodes;
  struct KeyCase {
    const char* name;
    std::string key;
    mode_t mode;
    std::string problem;
  } cases[] = {
      {"readable by group", kKey, 0640, "mode 0640"},
      {"readable by others", kKey, 0604, "chmod 600"},
      {"short", "0011\n", 0600, "64 hexadecimal characters (4 found)"},
      {"not hex", std::string(63, '0') + "g\n", 0600, "non-hexadecimal"},
      {"two newlines", std::string(kKey) + "\n", 0600, "64 hexadecimal characters"},
  };
  for (const KeyCase& k : cases) {
    WriteKey(k.key, k.mode);
    Result<NodeConfig> r = Parse(text);
    ASSERT_FALSE(r.ok()) << k.name;
    EXPECT_NE(r.status().message().find("key_file"), std::string::npos) << k.name;
    EXPECT_NE(r.status().message().find(k.problem), std::string::npos)
        << k.name << ": " << r.status().message();
  }
  fs::remove(dir_ / "cluster.key");
  Result<NodeConfig> r = Parse(text);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("does not exist"), std::string::npos);
  // Without the trailing newline is fine too.
  WriteKey(std::string(kKey, 64), 0600);
  EXPECT_TRUE(Parse(text).ok());
}

TEST(ParseAddress, Forms) {
  EXPECT_EQ(ParseAddress("127.0.0.2:80")->ToString(), "127.0.0.2:80");
  Result<comm::Address> v6 = ParseAddress("[::1]:7000");
  ASSERT_TRUE(v6.ok());
  EXPECT_EQ(v6->family, comm::Address::Family::kIpv6);
  EXPECT_EQ(v6->port, 7000);
  EXPECT_TRUE(v6->IsLoopback());
  EXPECT_FALSE(ParseAddress("[::1]7000").ok());
  EXPECT_FALSE(ParseAddress("1.2.3.4:65536").ok());
  EXPECT_FALSE(ParseAddress("1.2.3:5").ok());
  EXPECT_FALSE(ParseAddress(":5").ok());
}

TEST(ClusterIds, StablePerNameAndDistinct) {
  EXPECT_EQ(GcmClusterId("local"), GcmClusterId("local"));
  EXPECT_NE(GcmClusterId("local"), GcmClusterId("locam"));
  EXPECT_NE(TransportClusterId("a"), TransportClusterId("b"));
}

}  // namespace
}  // namespace rain::node
