package chans

import (
	"context"
	"slices"
	"testing"
)

func TestEachUntilClosed(t *testing.T) {
	ch := make(chan int, 3)
	ch <- 1
	ch <- 2
	ch <- 3
	close(ch)
	var got []int
	Each(context.Background(), ch, func(v int) { got = append(got, v) })
	if !slices.Equal(got, []int{1, 2, 3}) {
		t.Fatalf("got %v, want every value in order", got)
	}
}

// A cancelled context ends the loop although ch stays open and empty.
func TestEachUntilCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	ch := make(chan int)
	done := make(chan struct{})
	go func() {
		defer close(done)
		Each(ctx, ch, func(int) { t.Error("no value was sent") })
	}()
	cancel()
	<-done
}
