# lit configuration: every .cairn file under tests/lit is a test, run through
# the RUN lines it carries (cairn-opt / cairn-run piped into FileCheck).
import os
import lit.formats

config.name = "cairn"
config.test_format = lit.formats.ShTest(execute_external=True)
config.suffixes = [".cairn", ".test"]
config.excludes = ["Inputs", "lit.cfg.py", "lit.site.cfg.py.in"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = config.cairn_obj_root
# Hermetic: the tools neither read nor fill the user's kernel disk cache.
config.environment["CAIRN_CACHE_DIR"] = ""
config.environment["PATH"] = os.pathsep.join(
    [config.cairn_tools_dir, config.llvm_tools_dir, config.environment.get("PATH", os.environ["PATH"])])
