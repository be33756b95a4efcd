#pragma once
// IntrusiveList: a doubly linked list threaded through the elements themselves (which
// inherit IntrusiveListNode), so linking and unlinking never allocate. Used for the set of
// live connections a worker owns. Not thread-safe; an element is in at most one list.
#include <cstddef>

namespace mesh::base {

template <class T>
class IntrusiveList;

template <class T>
class IntrusiveListNode {
 public:
  bool linked() const { return list_ != nullptr; }

 protected:
  IntrusiveListNode() = default;
  ~IntrusiveListNode() = default;

 private:
  friend class IntrusiveList<T>;
  T* prev_ = nullptr;
  T* next_ = nullptr;
  IntrusiveList<T>* list_ = nullptr;
};

template <class T>
class IntrusiveList {
 public:
  IntrusiveList() = default;
  IntrusiveList(const IntrusiveList&) = delete;
  IntrusiveList& operator=(const IntrusiveList&) = delete;

  void push_back(T& item) {
    Node& n = item;
    n.list_ = this;
    n.prev_ = tail_;
    n.next_ = nullptr;
    if (tail_ != nullptr) static_cast<Node&>(*tail_).next_ = &item;
    else head_ = &item;
    tail_ = &item;
    ++size_;
  }

  void remove(T& item) {
    Node& n = item;
    if (n.list_ != this) return;
    if (n.prev_ != nullptr) static_cast<Node&>(*n.prev_).next_ = n.next_;
    else head_ = n.next_;
    if (n.next_ != nullptr) static_cast<Node&>(*n.next_).prev_ = n.prev_;
    else tail_ = n.prev_;
    n.prev_ = n.next_ = nullptr;
    n.list_ = nullptr;
    --size_;
  }

  T* front() const { return head_; }
  static T* next(const T& item) { return static_cast<const Node&>(item).next_; }
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }

 private:
  using Node = IntrusiveListNode<T>;
  T* head_ = nullptr;
  T* tail_ = nullptr;
  size_t size_ = 0;
};

}  // namespace mesh::base
