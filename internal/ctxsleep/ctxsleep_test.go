package ctxsleep_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/hmsplatform/synclayer/internal/ctxsleep"
)

func TestSleepWaitsTheDuration(t *testing.T) {
	start := time.Now()
	if err := ctxsleep.Sleep(context.Background(), 20*time.Millisecond); err != nil {
		t.Fatalf("Sleep = %v, want nil", err)
	}
	if took := time.Since(start); took < 20*time.Millisecond {
		t.Errorf("Sleep returned after %v, before the 20ms it was asked to wait", took)
	}
}

func TestSleepEndsWithItsContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- ctxsleep.Sleep(ctx, time.Hour) }()
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("Sleep after cancel = %v, want context.Canceled", err)
	}
}

func TestSleepWithoutADuration(t *testing.T) {
	if err := ctxsleep.Sleep(context.Background(), 0); err != nil {
		t.Errorf("Sleep(live, 0) = %v, want nil", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), -time.Second)
	defer cancel()
	if err := ctxsleep.Sleep(ctx, -time.Second); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Sleep(expired, -1s) = %v, want context.DeadlineExceeded", err)
	}
}
