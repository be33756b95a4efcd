#include "daemon/base/intrusive_list.hpp"

#include <vector>

#include <doctest/doctest.h>

using namespace mesh::base;

namespace {
struct Item : IntrusiveListNode<Item> {
  explicit Item(int v) : value(v) {}
  int value;
};
std::vector<int> values(const IntrusiveList<Item>& list) {
  std::vector<int> out;
  for (Item* i = list.front(); i != nullptr; i = IntrusiveList<Item>::next(*i)) out.push_back(i->value);
  return out;
}
}  // namespace

TEST_CASE("items can be removed from the middle, front and back") {
  Item a(1), b(2), c(3), d(4);
  IntrusiveList<Item> list;
  for (Item* i : {&a, &b, &c, &d}) list.push_back(*i);
  CHECK(values(list) == std::vector<int>{1, 2, 3, 4});
  list.remove(b);
  list.remove(a);
  list.remove(d);
  CHECK(values(list) == std::vector<int>{3});
  CHECK(list.size() == 1);
  CHECK_FALSE(a.linked());
  CHECK(c.linked());
  list.remove(c);
  CHECK(list.empty());
  CHECK(list.front() == nullptr);
}

TEST_CASE("removing an item that is not in the list does nothing") {
  Item a(1), b(2);
  IntrusiveList<Item> list, other;
  list.push_back(a);
  other.push_back(b);
  list.remove(b);
  CHECK(list.size() == 1);
  CHECK(other.size() == 1);
}
