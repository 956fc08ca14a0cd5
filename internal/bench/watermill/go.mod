module github.com/hmsplatform/synclayer/internal/bench/watermill

go 1.26.0

replace github.com/hmsplatform/synclayer => ../../..

require (
	github.com/ThreeDotsLabs/watermill v1.5.1
	github.com/hmsplatform/synclayer v0.0.0-00010101000000-000000000000
	go.uber.org/goleak v1.3.0
)

require (
	github.com/cenkalti/backoff/v4 v4.3.0 // indirect
	github.com/google/uuid v1.6.0 // indirect
	github.com/lithammer/shortuuid/v3 v3.0.7 // indirect
	github.com/oklog/ulid v1.3.1 // indirect
	github.com/pkg/errors v0.9.1 // indirect
	golang.org/x/time v0.16.0 // indirect
)
