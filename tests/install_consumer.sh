#!/bin/sh
# Installs the built kpusim into a temporary prefix, then configures, builds and runs an
# out-of-tree consumer that finds it with find_package(kpusim).
#   install_consumer.sh CMAKE BUILD_DIR CONSUMER_SOURCE WORK_DIR SHARED_DIR
set -eu
cmake="$1"; build="$2"; source="$3"; work="$4"; shared="$5"
rm -rf "$work"
"$cmake" --install "$build" --prefix "$work/prefix" > "$work.install.log" 2>&1 || { cat "$work.install.log"; exit 1; }
"$cmake" -S "$source" -B "$work/build" -DCMAKE_PREFIX_PATH="$work/prefix" -DCMAKE_BUILD_TYPE=Release > "$work.configure.log" 2>&1 || { cat "$work.configure.log"; exit 1; }
"$cmake" --build "$work/build" -j2 > "$work.build.log" 2>&1 || { cat "$work.build.log"; exit 1; }
"$work/build/consumer" "$shared/models/iris_v3/iris.kmodel"
test -f "$work/prefix/lib/pkgconfig/kpusim.pc"
test -x "$work/prefix/bin/kpusim"
