#include "core/table.h"

#include <cmath>

#include <gtest/gtest.h>

#include "core/error.h"

namespace nas {
namespace {

std::string error_of(const std::string& csv, const Table::TypeHints& hints = {}) {
  try {
    Table::parse(csv, "t.csv", hints);
  } catch (const DataError& e) {
    return e.what();
  }
  return "";
}

TEST(TableTest, LoadsRealNb201TableWithTypedColumns) {
  Table t = Table::load(data_path("nb201.csv"), {{"arch_str", ColumnType::kText}});
  EXPECT_EQ(t.rows(), 15625u);
  EXPECT_EQ(t.type("arch_str"), ColumnType::kText);
  EXPECT_EQ(t.type("acc_cifar10"), ColumnType::kNumber);
  EXPECT_EQ(t.type("lat_ms_pixel3"), ColumnType::kNumber);
  t.index_by("arch_str");
  auto row = t.find("|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|");
  ASSERT_TRUE(row.has_value());
  EXPECT_EQ(*row, 1u);
  EXPECT_DOUBLE_EQ(t.number(*row, "acc_cifar10"), 93.66);
  EXPECT_DOUBLE_EQ(t.number(*row, "params_M_cifar10"), 0.802426);
  EXPECT_FALSE(t.find("|none~0|").has_value());
}

TEST(TableTest, QuotedCellsWithCommas) {
  Table t = Table::load(data_path("darts_nb301_subset.csv"));
  EXPECT_EQ(t.rows(), 725u);
  EXPECT_EQ(t.type("compact_genotype"), ColumnType::kText);
  EXPECT_EQ(t.text(0, "compact_genotype").substr(0, 10), "[[(0, 0), ");
  EXPECT_NEAR(t.number(0, "params_M"), 0.856298, 1e-12);
}

TEST(TableTest, MissingValuesAreNaN) {
  Table t = Table::parse("a,b\n1,\n2,3.5\n", "t.csv");
  EXPECT_TRUE(std::isnan(t.number(0, "b")));
  EXPECT_DOUBLE_EQ(t.number(1, "b"), 3.5);
}

TEST(TableTest, MalformedFilesNameFileLineAndColumn) {
  EXPECT_NE(error_of("a,b\n1,2\n3\n").find("t.csv:3"), std::string::npos);
  EXPECT_NE(error_of("a,b\n1,2\n3,x\n", {{"b", ColumnType::kNumber}}).find("t.csv:3:3 (column 'b'): 'x' is not a number"),
            std::string::npos);
  EXPECT_NE(error_of("a,a\n1,2\n").find("duplicate column name 'a'"), std::string::npos);
  EXPECT_NE(error_of("a,b\n\"1,2\n").find("unterminated quoted cell"), std::string::npos);
  EXPECT_NE(error_of("").find("empty file"), std::string::npos);
  EXPECT_NE(error_of("a,b\n1,2\n", {{"c", ColumnType::kText}}).find("missing required column 'c'"), std::string::npos);
  EXPECT_THROW(Table::load("/nonexistent/file.csv"), DataError);
}

TEST(TableTest, DuplicateKeysAreRejected) {
  Table t = Table::parse("k,v\nx,1\ny,2\nx,3\n", "t.csv");
  try {
    t.index_by("k");
    FAIL() << "expected DataError";
  } catch (const DataError& e) {
    EXPECT_NE(std::string(e.what()).find("duplicate key 'x'"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace nas
