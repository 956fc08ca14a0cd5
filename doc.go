// Package synclayer keeps partner systems in step with the platform's domain
// events. (Overview in progress.)
package synclayer
