# Reads the output of `go test` (with or without -v, one or many packages)
# and prints why tests failed: for every failed test, the messages it
# logged (a line with a `file.go:NN:` location and the more deeply indented
# lines that continue it), then what a package printed outside its tests
# (a panic, a data race, TestMain's leak check or setup failure). CI shows
# only stdout, and scripts/test.sh keeps only the summary lines there, so
# this is what makes a failure explain itself. Bounded: at most per_msg
# lines of one message, per_test of one test and max in all
# (awk -v max=N -v per_test=N -v per_msg=N).
#   awk -f scripts/test-failures.awk /tmp/podrun-integration.log

BEGIN {
	if (max == "") max = 150
	if (per_test == "") per_test = 100
	if (per_msg == "") per_msg = 40
	printed = 0; cut = 0
	reset()
}

function reset() {
	split("", lines); split("", count); split("", failed)
	nfailed = 0; extra = ""; nextra = 0; cur = ""; in_msg = 0; indent = 0; block = ""
}

function leading(s) { match(s, /^ */); return RLENGTH }

function out(s) {
	if (printed >= max) { cut++; return }
	print s
	printed++
}

# keep adds a line to test's messages. A message keeps its first per_msg
# lines, so that one long message (a log dump) does not hide the next (a
# leak check at cleanup); a test keeps per_test lines.
function keep(test, s, start) {
	if (start) msg_lines = 0
	if (++msg_lines > per_msg) {
		if (msg_lines == per_msg + 1) add(test, "        ... (more in the full log)")
		return
	}
	add(test, s)
}

function add(test, s) {
	if (count[test] >= per_test) { if (count[test] == per_test) lines[test] = lines[test] "\n    ... (more in the full log)"; count[test]++; return }
	lines[test] = (count[test] ? lines[test] "\n" : "") s
	count[test]++
}

function keep_extra(s) {
	if (nextra >= per_test) return
	extra = (nextra ? extra "\n" : "") s
	nextra++
}

# A parent test fails with its subtests; only tests that said something, or
# whose subtests did not fail, are worth a section.
function has_failed_sub(name,   i) {
	for (i = 1; i <= nfailed; i++) if (index(failed[i], name "/") == 1) return 1
	return 0
}

function report(pkg,   i, t, n, arr, j) {
	if (nfailed == 0 && nextra == 0) return
	out("--- why " pkg " failed:")
	for (i = 1; i <= nfailed; i++) {
		t = failed[i]
		if (count[t] == 0 && has_failed_sub(t)) continue
		out("  " t ":")
		if (count[t] == 0) { out("    (no message)"); continue }
		n = split(lines[t], arr, "\n")
		for (j = 1; j <= n; j++) out(arr[j])
	}
	if (nextra > 0) {
		n = split(extra, arr, "\n")
		for (j = 1; j <= n; j++) out(arr[j])
	}
}

# Blocks a package prints outside any test's messages: a panic (its
# message, the tests that were running for a timeout, and the panicking
# goroutine's stack), a data race report, TestMain's own complaints. Each
# ends at a go test line, or: a panic at its second blank line, a race at
# its closing rule, the others at a blank line.
/^(panic: |WARNING: DATA RACE|LEAK CHECK FAILED|integration setup failed|integration cleanup)/ {
	block = $1; blanks = 0; in_msg = 0; keep_extra($0); next
}
block != "" && /^(=== |--- |ok |FAIL|PASS$|exit status)/ { block = "" }
block == "WARNING:" && /^==================$/ { block = ""; next }
block != "" && /^$/ && block != "WARNING:" && (block != "panic:" || ++blanks > 1) { block = ""; next }
block != "" { keep_extra($0); next }

/^=== (RUN|CONT|NAME|PAUSE) / { cur = $3; in_msg = 0; next }

/^ *--- (FAIL|PASS|SKIP): / {
	# Without -v a test's messages follow its result line.
	cur = $3; in_msg = 0
	if ($2 == "FAIL:") failed[++nfailed] = cur
	next
}

/^(ok|FAIL)[ \t]/ {
	if ($1 == "FAIL") report($2)
	reset(); next
}

/^ +[^ ]+\.go:[0-9]+: / {
	if (cur != "") { keep(cur, $0, 1); in_msg = 1; indent = leading($0) }
	next
}

in_msg && (leading($0) > indent || $0 ~ /^ *$/) { keep(cur, $0, 0); next }
{ in_msg = 0 }

END {
	if (nfailed > 0 || nextra > 0) report("(unfinished package)")
	if (cut > 0) print "... " cut " more lines; see the full log"
}
