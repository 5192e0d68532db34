package harness

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
)

// hostNetworkReport shows what decides whether this machine reaches the node's Services
// and pods: routes, addresses, the nat rules kube-proxy hooks in, and the kernel settings
// they need. Printed when a node test failed, because a CI machine cannot be looked at
// afterwards.
func hostNetworkReport() string {
	var b strings.Builder
	for _, args := range [][]string{
		{"ip", "-4", "-o", "addr"},
		{"ip", "-4", "route", "show", "table", "main"},
		{"ip", "rule"},
	} {
		out, err := exec.Command(args[0], args[1:]...).CombinedOutput()
		fmt.Fprintf(&b, "$ %s\n%s", strings.Join(args, " "), out)
		if err != nil {
			fmt.Fprintf(&b, "(%v)\n", err)
		}
	}
	b.WriteString("$ iptables-save -t nat (built-in chains and KUBE-SERVICES)\n")
	nat, err := exec.Command("iptables-save", "-t", "nat").CombinedOutput()
	if err != nil {
		fmt.Fprintf(&b, "(%v) %s\n", err, nat)
	}
	const maxServiceRules = 40
	serviceRules := 0
	for _, line := range strings.Split(string(nat), "\n") {
		switch {
		case strings.HasPrefix(line, "-A KUBE-SERVICES "):
			if serviceRules++; serviceRules > maxServiceRules {
				continue
			}
		case strings.HasPrefix(line, "-A PREROUTING "), strings.HasPrefix(line, "-A OUTPUT "), strings.HasPrefix(line, "-A POSTROUTING "):
		default:
			continue
		}
		b.WriteString(line + "\n")
	}
	fmt.Fprintf(&b, "(%d KUBE-SERVICES rules)\n", serviceRules)
	for _, name := range []string{"net/ipv4/ip_forward", "net/bridge/bridge-nf-call-iptables", "net/ipv4/conf/all/rp_filter"} {
		value, err := os.ReadFile("/proc/sys/" + name)
		if err != nil {
			fmt.Fprintf(&b, "%s: %v\n", name, err)
			continue
		}
		fmt.Fprintf(&b, "%s = %s", name, value)
	}
	return b.String()
}
