// Package conntest holds the scenarios that the connectors' tests share:
// each connector's test builds its own partner fake and connector, and
// hands them to one of these, so a scenario is written once and every
// connector is held to it alike. The HTTP connectors (rest, soap,
// webhook) share the chaos, fault and configuration scenarios; every
// connector that verifies and repairs its records shares the drift
// scenarios ([Drift], [Verify], [Repair]). It is imported by _test.go
// files only.
package conntest
