#include "spaces/registry.h"

#include <algorithm>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "core/error.h"
#include "spaces/nb201.h"

namespace nas::spaces {
namespace {

TEST(RegistryTest, ListsAndMakesTheBuiltinSpaces) {
  std::vector<std::string> names = space_names();
  EXPECT_TRUE(std::is_sorted(names.begin(), names.end()));
  ASSERT_NE(std::find(names.begin(), names.end(), "nb201"), names.end());
  for (const auto& name : names) {
    std::unique_ptr<SearchSpace> space = make_space(name);
    ASSERT_NE(space, nullptr);
    EXPECT_EQ(space->name(), name);
  }
  EXPECT_NE(dynamic_cast<Nb201Space*>(make_space("nb201").get()), nullptr);
}

TEST(RegistryTest, UnknownNameThrowsConfigErrorListingTheKnownOnes) {
  try {
    make_space("nb999");
    FAIL() << "expected ConfigError";
  } catch (const ConfigError& e) {
    std::string expected = "unknown space 'nb999'; known: " + fmt::format("{}", fmt::join(space_names(), ", "));
    EXPECT_EQ(std::string(e.what()), expected);
    EXPECT_NE(std::string(e.what()).find("nb201"), std::string::npos);
  }
}

TEST(RegistryTest, RegisteringANameTwiceIsAnInternalError) {
  EXPECT_THROW(SpaceRegistry::instance().add("nb201", [] { return std::make_unique<Nb201Space>(); }), Error);
}

}  // namespace
}  // namespace nas::spaces
