#include "spaces/arch_columns.h"

#include <gtest/gtest.h>

#include "core/error.h"
#include "core/table.h"
#include "spaces/registry.h"

namespace nas::spaces {
namespace {

Table small_table() {
  return Table::parse("id,adjacency,ops,r\n0,0100,input output,204\n", "small.csv",
                      ArchColumns("{adjacency}|{ops}|r={r}").text_hints());
}

TEST(ArchColumnsTest, APlainNameIsOneColumn) {
  ArchColumns a("ops");
  EXPECT_FALSE(a.is_template());
  EXPECT_EQ(a.columns(), std::vector<std::string>{"ops"});
  EXPECT_EQ(a.arch(small_table(), 0), "input output");
  EXPECT_EQ(a.describe(), "column 'ops'");
}

TEST(ArchColumnsTest, ATemplateJoinsColumnsAndLiteralText) {
  ArchColumns a("{adjacency}|{ops}|r={r}");
  EXPECT_TRUE(a.is_template());
  EXPECT_EQ(a.columns(), (std::vector<std::string>{"adjacency", "ops", "r"}));
  // `r` is numeric in the CSV but read as text: the cell keeps its spelling.
  EXPECT_EQ(a.arch(small_table(), 0), "0100|input output|r=204");
  EXPECT_EQ(a.describe(), "columns 'adjacency', 'ops', 'r' as '{adjacency}|{ops}|r={r}'");
  EXPECT_EQ(ArchColumns("{ops}{ops}").columns(), std::vector<std::string>{"ops"});
}

TEST(ArchColumnsTest, MalformedSpecsAreConfigErrors) {
  for (const char* bad : {"", "{ops", "ops}", "{}|{ops}", "{a{b}}"}) {
    EXPECT_THROW(ArchColumns{bad}, ConfigError) << bad;
  }
  try {
    ArchColumns("{adjacency}|{ops");
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("'{' is not closed at character 12"), std::string::npos) << e.what();
  }
}

TEST(ArchColumnsTest, AMissingColumnNamesTheFileAndColumn) {
  try {
    ArchColumns("{adjacency}|{opz}").arch(small_table(), 0);
    FAIL();
  } catch (const DataError& e) {
    std::string msg = e.what();
    EXPECT_NE(msg.find("small.csv"), std::string::npos) << msg;
    EXPECT_NE(msg.find("no column 'opz'"), std::string::npos) << msg;
  }
}

TEST(ArchColumnsTest, DefaultColumnsReadEverySpaceTable) {
  const std::vector<std::pair<std::string, std::string>> tables = {{"nb201", "nb201.csv"},
                                                                   {"nb101", "nb101_subset.csv"},
                                                                   {"fbnet", "fbnet.csv"},
                                                                   {"ofa_mbv3", "ofa_mbv3.csv"},
                                                                   {"darts", "darts_nb301_subset.csv"}};
  for (const auto& [name, file] : tables) {
    ArchColumns arch(benchmark_arch_columns(name));
    Table t = Table::load(data_path(file), arch.text_hints());
    auto space = make_space(name);
    for (size_t r = 0; r < 3; ++r) EXPECT_NO_THROW(space->parse(arch.arch(t, r))) << name << " row " << r;
  }
  EXPECT_THROW(benchmark_arch_columns("resnet"), ConfigError);
  // An absolute path names a user's own table, not one under data/.
  EXPECT_EQ(data_path("/tmp/mybox.csv"), "/tmp/mybox.csv");
  EXPECT_EQ(data_path("nb201.csv"), data_dir() + "/nb201.csv");
}

}  // namespace
}  // namespace nas::spaces
