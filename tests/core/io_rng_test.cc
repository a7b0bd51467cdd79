#include <filesystem>
#include <set>

#include <gtest/gtest.h>

#include "core/error.h"
#include "core/io.h"
#include "core/rng.h"

namespace nas {
namespace {

TEST(IoTest, AtomicWriteReplacesFileAndLeavesNoTemporary) {
  auto dir = std::filesystem::temp_directory_path() / "nas_io_test";
  std::filesystem::remove_all(dir);
  std::string path = (dir / "sub" / "f.txt").string();
  write_file_atomic(path, "first");
  EXPECT_EQ(read_file(path), "first");
  write_file_atomic(path, std::string(1 << 20, 'x'));
  EXPECT_EQ(read_file(path).size(), size_t{1} << 20);
  int files = 0;
  for (auto& e : std::filesystem::directory_iterator(dir / "sub")) (void)e, ++files;
  EXPECT_EQ(files, 1);
  EXPECT_THROW(read_file((dir / "missing").string()), Error);
  std::filesystem::remove_all(dir);
}

TEST(RngTest, SameSeedSameStreamAndStateRoundTrips) {
  Rng a(42), b(42);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(a.uniform_int(0, 1000), b.uniform_int(0, 1000));
  std::string state = a.save_state();
  double x = a.uniform();
  Rng c(7);
  c.restore_state(state);
  EXPECT_EQ(c.uniform(), x);
  EXPECT_THROW(c.restore_state("not a state"), Error);
}

TEST(RngTest, DerivedSeedsDiffer) {
  std::set<uint64_t> seeds;
  for (uint64_t g = 0; g < 50; ++g)
    for (uint64_t i = 0; i < 50; ++i) seeds.insert(derive_seed(1, g, i));
  EXPECT_EQ(seeds.size(), 2500u);
  EXPECT_EQ(derive_seed(1, 2, 3), derive_seed(1, 2, 3));
}

TEST(RngTest, UniformIsInRange) {
  Rng r(1);
  for (int i = 0; i < 1000; ++i) {
    double u = r.uniform();
    EXPECT_GE(u, 0.0);
    EXPECT_LT(u, 1.0);
    auto k = r.uniform_int(-3, 3);
    EXPECT_GE(k, -3);
    EXPECT_LE(k, 3);
  }
}

}  // namespace
}  // namespace nas
