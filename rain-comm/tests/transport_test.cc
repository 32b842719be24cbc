#include "rain/comm/transport.h"
#include "rain/comm/wire.h"

#include <gtest/gtest.h>

namespace rain::comm {
namespace {

TEST(Transport, CreatesWithOptions) {
  auto t = Transport::Create(TransportOptions{.self = NodeId{1}, .incarnation = 1});
  ASSERT_TRUE(t.ok());
}

}  // namespace
}  // namespace rain::comm
