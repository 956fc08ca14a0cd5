// Package faults is the fault queue that the exported partner fakes
// (arcgistest, calendartest) share: faults are injected for the coming
// requests, and each is used once, by the first request it matches. The
// fakes keep their own exported Fault types; this package holds the
// queue and the connection drop behind them.
package faults
