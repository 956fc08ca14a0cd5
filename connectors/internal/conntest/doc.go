// Package conntest holds the scenarios that the HTTP connectors' tests
// share (rest, soap, webhook): each connector's test builds its own partner
// fake and connector, and hands them to one of these, so a scenario is
// written once and every connector is held to it alike. It is imported by
// _test.go files only.
package conntest
