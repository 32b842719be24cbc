#include <gtest/gtest.h>

#include "rain/core/result.h"
#include "rain/core/status.h"

namespace rain {
namespace {

Result<int> Half(int x) {
  if (x % 2 != 0) return InvalidArgumentError(std::to_string(x) + " is odd");
  return x / 2;
}

Result<int> Quarter(int x) {
  RAIN_ASSIGN_OR_RETURN(int h, Half(x));
  RAIN_ASSIGN_OR_RETURN(int q, Half(h));
  return q;
}

Status CheckPositive(int x) {
  if (x <= 0) return OutOfRangeError("not positive");
  return Status::Ok();
}

Status Both(int a, int b) {
  RAIN_RETURN_IF_ERROR(CheckPositive(a));
  RAIN_RETURN_IF_ERROR(CheckPositive(b));
  return Status::Ok();
}

TEST(Status, OkAndErrorsCarryCodeAndMessage) {
  EXPECT_TRUE(Status::Ok().ok());
  Status s = DataLossError("3 columns lost");
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.code(), StatusCode::kDataLoss);
  EXPECT_EQ(s.ToString(), "DataLoss: 3 columns lost");
  EXPECT_EQ(s.WithContext("stripe 7").ToString(), "DataLoss: stripe 7: 3 columns lost");
  EXPECT_EQ(IoError("open x", ENOENT).message(), "open x: No such file or directory");
}

TEST(Status, ReturnIfErrorStopsAtFirstError) {
  EXPECT_TRUE(Both(1, 2).ok());
  EXPECT_EQ(Both(1, -2).code(), StatusCode::kOutOfRange);
}

TEST(Result, AssignOrReturnPropagates) {
  ASSERT_TRUE(Quarter(8).ok());
  EXPECT_EQ(*Quarter(8), 2);
  Result<int> r = Quarter(6);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "3 is odd");
}

TEST(ResultDeathTest, ValueOfErrorAborts) {
  Result<int> r = Half(3);
  EXPECT_DEATH((void)r.value(), "3 is odd");
}

}  // namespace
}  // namespace rain
