package web

import "github.com/chipgate/chipgate/internal/domain"

// Route is one dashboard route as the authorization matrix test sees it.
type Route struct {
	Method, Path string
	// Role owns the route: "" means any signed-in role, or anyone when
	// Public is set.
	Role   domain.Role
	Public bool
}

// Key is the route's pattern, "METHOD /path".
func (r Route) Key() string { return r.Method + " " + r.Path }

// Routes is the dashboard's route table, from which its mux is built.
func Routes() []Route {
	var out []Route
	for _, rt := range (&handler{}).routeTable() {
		out = append(out, Route{Method: rt.method, Path: rt.path, Role: rt.role, Public: rt.public})
	}
	return out
}
