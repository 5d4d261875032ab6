// The extension module cairn._cairn: registers the bindings and maps Cairn's
// two kinds of user error onto Python exceptions (BuildError: a model that
// asks for an ill-formed op; CairnError: a failed Status from parsing,
// verifying, compiling or running). The Python API lives in cairn/*.py.
#include <nanobind/nanobind.h>

#include "Handles.h"

namespace cairn::python {
namespace nb = nanobind;
void bindModule(nb::module_& m);
void bindTrace(nb::module_& m);
void bindModels(nb::module_& m);
void bindTraining(nb::module_& m);
void bindAot(nb::module_& m);
} // namespace cairn::python

NB_MODULE(_cairn, m) {
  namespace nb = nanobind;
  using namespace cairn::python;
  m.doc() = "Cairn's C++ core (the builder, autodiff, interpreter and CPU compiler); "
            "use the cairn package rather than this module";
  nb::exception<cairn::BuildError>(m, "BuildError", PyExc_ValueError);
  nb::exception<CairnError>(m, "CairnError", PyExc_RuntimeError);
  bindModule(m);
  bindTrace(m);
  bindModels(m);
  bindTraining(m);
  bindAot(m);
}
