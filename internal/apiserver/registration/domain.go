package registration

// DefaultRouteDomain is the routers' wildcard domain unless kubia-apiserver's
// --route-domain (the chart's router.domain) says otherwise: Routes without a host get
// <name>-<namespace>.apps.kubia.local. It is under .local, which no public DNS answers, so
// a local node's routes never send anyone to someone else's names; users reach them with
// `curl --resolve` or /etc/hosts (docs/api/route.md).
const DefaultRouteDomain = "apps.kubia.local"
