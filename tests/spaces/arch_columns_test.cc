#include "spaces/arch_columns.h"

#include <gtest/gtest.h>

#include "core/error.h"
#include "core/table.h"

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

}  // namespace
}  // namespace nas::spaces
