package store

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
)

// TestKilledWriterLosesNothingAcknowledged SIGKILLs a process in the middle
// of a stream of writes and checks that every write it had acknowledged
// (Create returned) is in the store when it is opened again.
func TestKilledWriterLosesNothingAcknowledged(t *testing.T) {
	if os.Getenv("PODRUN_STORE_WRITER") != "" {
		return // helper mode: only TestStoreWriterHelper runs
	}
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestStoreWriterHelper$")
	cmd.Env = append(os.Environ(), "PODRUN_STORE_WRITER="+dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	acked := -1
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		if n, ok := strings.CutPrefix(sc.Text(), "acked "); ok {
			acked, _ = strconv.Atoi(n)
			if acked >= 30 {
				break
			}
		}
	}
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
	if acked < 30 {
		t.Fatalf("writer acknowledged only %d writes", acked)
	}
	s := openTest(t, dir)
	defer s.Close()
	for i := 0; i <= acked; i++ {
		if _, err := s.ConfigMaps().Get(context.Background(), "default", fmt.Sprintf("cm-%d", i)); err != nil {
			t.Fatalf("acknowledged write %d lost: %v", i, err)
		}
	}
}

// TestStoreWriterHelper writes until it is killed.
func TestStoreWriterHelper(t *testing.T) {
	dir := os.Getenv("PODRUN_STORE_WRITER")
	if dir == "" {
		return // only meaningful as the killed writer
	}
	s, err := Open(context.Background(), dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; ; i++ {
		if _, err := s.ConfigMaps().Create(context.Background(), cm("default", fmt.Sprintf("cm-%d", i), "v")); err != nil {
			t.Fatal(err)
		}
		fmt.Printf("acked %d\n", i)
	}
}
