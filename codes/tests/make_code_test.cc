// MakeCode: the spec grammar. Every malformed spec is InvalidArgument naming the accepted forms.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "rain/codes/code.h"

namespace rain::codes {
namespace {

TEST(MakeCode, MalformedSpecsAreInvalidArgumentListingTheAcceptedForms) {
  const std::vector<std::string> malformed = {"",
                                              ":",
                                              "xcode",
                                              "xcode:",
                                              "xcode:5x",
                                              "xcode: 5",
                                              "xcode:+5",
                                              "xcode:5.0",
                                              "bcode:",
                                              "bcode:six",
                                              "rs:10",
                                              "rs:10+",
                                              "rs:+4",
                                              "rs:10+4x",
                                              "rs:10+4+1",
                                              "rs:10-4",
                                              "rs: 10+4",
                                              "RS:10+4",
                                              "foo:3",
                                              "rs",
                                              "rs:",
                                              "rs:x+y",
                                              "reedsolomon:4+2",
                                              "xcode:99999999999999999999",
                                              "rs:99999999999999999999+1",
                                              "rs:1+99999999999999999999"};
  for (const std::string& spec : malformed) {
    auto made = MakeCode(spec);
    ASSERT_FALSE(made.ok()) << '"' << spec << '"';
    EXPECT_EQ(made.status().code(), StatusCode::kInvalidArgument) << '"' << spec << '"';
    const std::string& message = made.status().message();
    EXPECT_NE(message.find("xcode:N"), std::string::npos) << message;
    EXPECT_NE(message.find("bcode:L"), std::string::npos) << message;
    EXPECT_NE(message.find("rs:K+M"), std::string::npos) << message;
  }
}

TEST(MakeCode, ReedSolomonGeometryIsChecked) {
  for (std::string spec : {"rs:0+2", "rs:4+0", "rs:-1+2", "rs:2+-1", "rs:254+2", "rs:300+1"}) {
    auto made = MakeCode(spec);
    ASSERT_FALSE(made.ok()) << spec;
    EXPECT_EQ(made.status().code(), StatusCode::kInvalidArgument) << spec;
  }
}

TEST(MakeCode, BuildsReedSolomon) {
  for (auto [spec, columns] : std::vector<std::pair<std::string, int>>{
           {"rs:4+2", 6}, {"rs:10+4", 14}, {"rs:1+1", 2}, {"rs:253+2", 255}}) {
    auto made = MakeCode(spec);
    ASSERT_TRUE(made.ok()) << spec << ": " << made.status().ToString();
    EXPECT_EQ((*made)->Spec(), spec);
    EXPECT_EQ((*made)->columns(), columns);
    EXPECT_EQ((*made)->rows(), 1);
  }
}

TEST(MakeCode, BuildsXCode) {
  for (auto [spec, columns] :
       std::vector<std::pair<std::string, int>>{{"xcode:5", 5}, {"xcode:7", 7}, {"xcode:13", 13}}) {
    auto made = MakeCode(spec);
    ASSERT_TRUE(made.ok()) << spec << ": " << made.status().ToString();
    EXPECT_EQ((*made)->Spec(), spec);
    EXPECT_EQ((*made)->columns(), columns);
    EXPECT_EQ((*made)->rows(), columns);
    EXPECT_EQ((*made)->max_erasures(), 2);
  }
  for (std::string spec : {"xcode:4", "xcode:9", "xcode:-5", "xcode:0"}) {
    auto made = MakeCode(spec);
    ASSERT_FALSE(made.ok()) << spec;
    EXPECT_EQ(made.status().code(), StatusCode::kInvalidArgument) << spec;
  }
}

TEST(MakeCode, BuildsBCode) {
  for (auto [spec, columns] :
       std::vector<std::pair<std::string, int>>{{"bcode:6", 6}, {"bcode:7", 7}, {"bcode:12", 12}}) {
    auto made = MakeCode(spec);
    ASSERT_TRUE(made.ok()) << spec << ": " << made.status().ToString();
    EXPECT_EQ((*made)->Spec(), spec);
    EXPECT_EQ((*made)->columns(), columns);
    EXPECT_EQ((*made)->max_erasures(), 2);
  }
  for (std::string spec : {"bcode:8", "bcode:9", "bcode:-6", "bcode:0"}) {
    auto made = MakeCode(spec);
    ASSERT_FALSE(made.ok()) << spec;
    EXPECT_EQ(made.status().code(), StatusCode::kInvalidArgument) << spec;
  }
}

}  // namespace
}  // namespace rain::codes
