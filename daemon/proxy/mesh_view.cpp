#include "daemon/proxy/mesh_view.hpp"

namespace mesh::proxy {
namespace {

const std::shared_ptr<const MeshView>& empty_view() {
  static const std::shared_ptr<const MeshView> empty = std::make_shared<MeshView>();
  return empty;
}

thread_local std::shared_ptr<const MeshView> t_view;

}  // namespace

const MeshView& current_view() { return t_view ? *t_view : *empty_view(); }

void install_view(std::shared_ptr<const MeshView> view) { t_view = std::move(view); }

}  // namespace mesh::proxy
