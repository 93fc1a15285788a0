#!/usr/bin/env bash
# The roster benchmark of issue 16 (a benchmark, not a test: it asserts nothing about time).
#
#   bash xtask/bench/roster.sh [PER_KIND]          (default 5: a class of 20)
#   BENCH_ALONE=kinds bash xtask/bench/roster.sh   (only one student of each kind graded alone)
#   BENCH_ALONE=0 bash xtask/bench/roster.sh 1     (a class of 4, not compared with grading alone)
#
# Builds a class of 4*PER_KIND students of mixed quality: full solutions, stubs, half-solved
# (every other exercise solved), and duplicates of other students' code. Each full and
# half-solved student's files carry a comment of their own, so only the duplicates and the
# untouched stubs share code, as in a real class. It grades the class with `grade --roster`
# on every core, then grades each student alone (`--jobs 1`), or with BENCH_ALONE=kinds only
# full1, stub1, half1 and copy1 (students of one kind differ only by a comment, so one of each
# is the comparison at a fifth of the cost for a class of 20), and prints wall time, machine
# time and CPU time per student, the scratch build folder's size before, at its peak and after,
# the load average, and whether every test got the same points both ways.
set -euo pipefail
per_kind=${1:-5}
alone_mode=${BENCH_ALONE:-1}
case "$alone_mode" in
  1 | kinds | 0) ;;
  *) echo "BENCH_ALONE is 1 (every student alone), kinds (one of each kind) or 0 (none)" >&2; exit 2 ;;
esac
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
work=$(mktemp -d "${TMPDIR:-/tmp}/threadlings-bench.XXXXXX")
roster="$work/roster"
scratch="$root/target/threadlings"

student() { # NAME FROM(exercises|solutions|half) MARK
  local name=$1 from=$2 mark=$3 index=0
  for exercise in exercises/*/; do
    exercise=$(basename "$exercise")
    index=$((index + 1))
    local source=$from
    if [ "$from" = half ]; then
      if [ $((index % 2)) -eq 1 ]; then source=solutions; else source=exercises; fi
    fi
    mkdir -p "$roster/$name/exercises/$exercise"
    cp -r "$source/$exercise/src" "$roster/$name/exercises/$exercise/"
    cp "$exercises_manifest_dir/$exercise/Cargo.toml" "$roster/$name/exercises/$exercise/"
    echo "// $mark" >>"$roster/$name/exercises/$exercise/src/lib.rs"
  done
}
exercises_manifest_dir=exercises
# Every run's code is new to the build folder (the run's folder is in each mark), so that a
# run never reuses builds an earlier run left behind.
run_id=$(basename "$work")
for n in $(seq 1 "$per_kind"); do
  student "full$n" solutions "written by full$n in $run_id"
  student "stub$n" exercises "untouched in $run_id"
  student "half$n" half "written by half$n in $run_id"
done
for n in $(seq 1 "$per_kind"); do
  # Half copy a full solution, half copy a half-solved one.
  if [ $((n % 2)) -eq 1 ]; then original=full$n; else original=half$n; fi
  cp -r "$roster/$original" "$roster/copy$n"
done
students=$(ls "$roster" | wc -l)

cargo build -q -p xtask
# A copy, so that rebuilding xtask while the benchmark runs cannot change the grader under it.
xtask="$work/xtask"
cp "$root/target/debug/xtask" "$xtask"

# du exits 1 when a file vanishes while it counts (graders remove builds as they go), so its
# status is ignored and only its first number kept.
size() { local mib; mib=$({ du -sm "$scratch" 2>/dev/null || true; } | cut -f1 | head -n1); echo "${mib:-0}"; }
peak_file="$work/peak"
watch_disk() { # samples the build folder's size until killed
  local peak=0
  while true; do
    local now; now=$(size)
    if [ "$now" -gt "$peak" ]; then peak=$now; echo "$peak" >"$peak_file"; fi
    sleep 5
  done
}

grade() { # OUT JOBS ROSTER -> prints "wall_s cpu_s"
  local out=$1 jobs=$2 class=$3 start end
  start=$(date +%s.%N)
  /usr/bin/time -f "%U %S" -o "$work/time" \
    "$xtask" grade --roster "$class" --jobs "$jobs" --out "$out" >"$work/$jobs.log" 2>&1 || true
  end=$(date +%s.%N)
  read -r user sys <"$work/time"
  echo "$(echo "$end - $start" | bc) $(echo "$user + $sys" | bc)"
}

echo "class of $students students in $roster; load before: $(cut -d' ' -f1-3 /proc/loadavg)"
before=$(size)
watch_disk & watcher=$!
read -r wall cpu < <(grade "$work/class" "$(nproc)" "$roster")
kill "$watcher" 2>/dev/null || true
wait "$watcher" 2>/dev/null || true
peak=$(cat "$peak_file" 2>/dev/null || echo "$before")
after=$(size)
echo "load after the class: $(cut -d' ' -f1-3 /proc/loadavg)"
if [ "$alone_mode" = kinds ]; then
  # The same folders under the same names, in a roster of their own.
  alone_roster="$work/alone-roster"
  mkdir -p "$alone_roster"
  for name in full1 stub1 half1 copy1; do cp -r "$roster/$name" "$alone_roster/"; done
  graded_alone=4
else
  alone_roster=$roster
  graded_alone=$students
fi
if [ "$alone_mode" != 0 ]; then
  read -r wall_alone cpu_alone < <(grade "$work/alone" 1 "$alone_roster")
  echo "load after grading alone: $(cut -d' ' -f1-3 /proc/loadavg)"
else
  # BENCH_ALONE=0 skips the comparison (it doubles the time), for a quick before and after.
  wall_alone=0 cpu_alone=0
  cp -r "$work/class" "$work/alone"
fi

python3 - "$work/class/students" "$work/alone/students" "$students" "$wall" "$cpu" \
  "$wall_alone" "$cpu_alone" "$before" "$peak" "$after" "$(nproc)" "$alone_mode" "$graded_alone" <<'PY'
import json, os, sys
class_dir, alone_dir = sys.argv[1], sys.argv[2]
students = int(sys.argv[3])
wall, cpu, wall_alone, cpu_alone = map(float, sys.argv[4:8])
before, peak, after, cores = map(int, sys.argv[8:12])
mode, graded_alone = sys.argv[12], int(sys.argv[13])
compared = mode != "0"
def points(folder):
    found = {}
    for name in sorted(os.listdir(folder)):
        path = os.path.join(folder, name)
        if name.endswith(".json"):
            report = json.load(open(path))
            found[name[:-5]] = {
                (e["dir_name"], t["name"]): (t["points"], t["verdict"])
                for e in report["exercises"] for t in e["tests"]
            }
        elif name.endswith(".not-graded.txt"):
            found.setdefault(name[:-len(".not-graded.txt")], open(path).read().strip())
    return found
together, alone = points(class_dir), points(alone_dir)
print(f"class graded together: {wall:.0f} s wall, {wall * cores / students:.1f} s machine time "
      f"({cores} cores) and {cpu / students:.1f} s CPU per student")
if compared:
    which = "each student" if mode == "1" else "one student of each kind"
    print(f"{which} alone: {wall_alone:.0f} s wall, {wall_alone / graded_alone:.1f} s per student")
print(f"200 students at this rate: {wall / students * 200 / 3600:.1f} h on this machine")
print(f"scratch build folder: {before} MB before, {peak} MB at its peak, {after} MB after "
      f"({(after - before) / students:.1f} MB kept per student)")
different = []
# With BENCH_ALONE=kinds only the students graded alone are compared.
for student in sorted(set(alone) if mode == "kinds" else set(together) | set(alone)):
    a, b = together.get(student), alone.get(student)
    if not isinstance(a, dict) or not isinstance(b, dict):
        different.append(f"{student}: together {a!r:.80} / alone {b!r:.80}")
        continue
    for test in sorted(set(a) | set(b)):
        if a.get(test, (None,))[0] != b.get(test, (None,))[0]:
            different.append(f"{student} {test[0]}::{test[1]}: together {a.get(test)} / alone {b.get(test)}")
totals = {s: sum(p for p, _ in t.values()) for s, t in together.items() if isinstance(t, dict)}
print("points together:", " ".join(f"{s}={p}" for s, p in sorted(totals.items())))
if not compared:
    print("not compared with grading each student alone (BENCH_ALONE=0)")
    sys.exit(0)
if different:
    print(f"{len(different)} tests got different points together and alone:")
    print("\n".join("  " + line for line in different))
    sys.exit(1)
print(f"every test of the {len(alone)} students graded alone got the same points together and alone")
PY
echo "work folder (reports, logs): $work"
