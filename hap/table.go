package hap

import (
	"fmt"
	"io"
	"sort"
	"strings"
)

// WriteTable prints the profile for people: the three layers, one after
// the other.
func (p *Profile) WriteTable(w io.Writer) {
	fmt.Fprintf(w, "target     %s (pid %d), traced %.1f s\n", p.Target, p.Pid, p.Secs)
	if p.ExitCode != nil {
		fmt.Fprintf(w, "exit       %d\n", *p.ExitCode)
	}
	fmt.Fprintf(w, "\nallowed    seccomp %s\n", p.Seccomp)
	if p.AllowedNote != "" {
		fmt.Fprintf(w, "           %s\n", p.AllowedNote)
	}
	if len(p.Allowed) > 0 {
		fmt.Fprintf(w, "           %d calls in the installed filter:\n", len(p.Allowed))
		for _, a := range p.Allowed {
			cond := "some arguments only"
			if a.Always {
				cond = "any arguments"
			}
			fmt.Fprintf(w, "           %-16s %s\n", a.Name, cond)
		}
	}

	fmt.Fprintf(w, "\nsyscalls   %d distinct, %d calls", p.UniqueSyscalls, sum(p.Syscalls))
	if p.LostSyscalls > 0 {
		fmt.Fprintf(w, " (%d events lost: counts are lower bounds)", p.LostSyscalls)
	}
	fmt.Fprintln(w)
	filtered := len(p.UnderFilter) > 0
	if filtered {
		fmt.Fprintf(w, "           %-16s %10s %14s\n", "call", "count", "under filter")
	} else {
		fmt.Fprintf(w, "           %-16s %10s\n", "call", "count")
	}
	for _, name := range byCount(p.Syscalls) {
		if filtered {
			fmt.Fprintf(w, "           %-16s %10d %14d\n", name, p.Syscalls[name], p.UnderFilter[name])
		} else {
			fmt.Fprintf(w, "           %-16s %10d\n", name, p.Syscalls[name])
		}
	}

	fmt.Fprintf(w, "\nfunctions  ")
	if p.Functions == nil && p.FunctionsNote != "" {
		fmt.Fprintf(w, "not measured: %s\n", p.FunctionsNote)
		return
	}
	fmt.Fprintf(w, "%d unique kernel functions (process context; interrupt work left out)", p.UniqueFunctions)
	if p.LostFunctions > 0 {
		fmt.Fprintf(w, ", %d events lost", p.LostFunctions)
	}
	fmt.Fprintln(w)
	for _, g := range Subsystems(p.Functions) {
		fmt.Fprintf(w, "           %-16s %5d\n", g.Name, g.Count)
	}
}

func sum(m map[string]int) int {
	n := 0
	for _, c := range m {
		n += c
	}
	return n
}

// byCount returns the keys of m, most frequent first.
func byCount(m map[string]int) []string {
	names := SyscallNames(m)
	sort.SliceStable(names, func(i, j int) bool { return m[names[i]] > m[names[j]] })
	return names
}

// Group is a number of kernel functions sharing a subsystem.
type Group struct {
	Name  string `json:"name"`
	Count int    `json:"count"`
}

// subsystemPrefixes maps function name prefixes to the subsystem they
// come from, most specific first. Names are what ftrace prints; the kernel
// has no machine-readable owner per function short of debug info, and
// prefixes are how people read these lists anyway.
var subsystemPrefixes = []struct{ prefix, group string }{
	{"shmem_", "mm"}, {"__shmem", "mm"}, {"__handle_mm_fault", "mm"}, {"__do_fault", "mm"}, {"do_set_pte", "mm"}, {"finish_fault", "mm"}, {"find_vma", "mm"}, {"lock_mm_and_find_vma", "mm"}, {"lru_", "mm"}, {"charge_memcg", "mm"}, {"__count_memcg", "mm"}, {"__cgroup", "mm"}, {"add_mm_counter", "mm"}, {"__vm_enough", "mm"}, {"cap_vm_enough", "mm"}, {"mpol_", "mm"}, {"policy_", "mm"}, {"__get_vma_policy", "mm"}, {"unlock_page", "mm"}, {"__filemap", "mm"}, {"PageHeadHuge", "mm"}, {"should_fail_alloc", "mm"}, {"__kmem_cache", "mm"}, {"__check_heap_object", "uaccess"}, {"__virt_addr_valid", "uaccess"}, {"is_vmalloc_addr", "uaccess"}, {"simple_copy_to_iter", "uaccess"},
	{"clockevents_", "time"}, {"tick_", "time"}, {"lapic_next_event", "time"}, {"__remove_hrtimer", "time"}, {"get_nohz_timer_target", "time"}, {"select_estimate_accuracy", "poll"}, {"set_user_sigmask", "poll"},
	{"__br_", "bridge"}, {"fdb_", "bridge"}, {"is_skb_forwardable", "netdev"}, {"passthru_features_check", "netdev"}, {"ipv6_mod_enabled", "bridge"}, {"__build_skb", "skbuff"},
	{"__do_softirq", "softirq entry"}, {"do_softirq", "softirq entry"}, {"handle_softirqs", "softirq entry"}, {"irq_enter_rcu", "softirq entry"}, {"__kthread_should_park", "softirq entry"},
	{"restore_fpregs", "syscall entry"}, {"xfd_validate", "syscall entry"}, {"x64_sys_call", "syscall entry"}, {"populate_seccomp_data", "seccomp"}, {"__fget_light", "vfs"}, {"__get_task_ioprio", "vfs"}, {"kthread_blkcg", "vfs"}, {"blk_cgroup_congested", "vfs"}, {"__cgroup_throttle", "mm"},
	{"check_cfs_rq", "sched"}, {"check_spread", "sched"}, {"clear_buddies", "sched"}, {"hrtick_update", "sched"}, {"idle_cpu", "sched"}, {"balance_fair", "sched"}, {"cpuacct_", "sched"}, {"record_times", "sched"}, {"__traceiter_sched", "sched"}, {"migrate_", "sched"}, {"__cond_resched", "sched"},
	{"tun_", "tun"}, {"__tun_", "tun"}, {"virtio_net_", "tun"},
	{"br_", "bridge"}, {"nbp_", "bridge"}, {"tcf_", "tc"}, {"u32_", "tc"}, {"tc_run", "tc"}, {"sch_handle_", "tc"},
	{"veth_", "veth"},
	{"tcp_", "tcp"}, {"__tcp_", "tcp"}, {"inet_csk", "tcp"},
	{"udp_", "udp"}, {"ip_", "ipv4"}, {"__ip_", "ipv4"}, {"inet_", "ipv4"}, {"fib_", "ipv4"}, {"arp_", "ipv4"}, {"icmp_", "ipv4"},
	{"nf_", "netfilter"}, {"ipt_", "netfilter"}, {"nft_", "netfilter"},
	{"skb_", "skbuff"}, {"__skb_", "skbuff"}, {"kfree_skb", "skbuff"}, {"consume_skb", "skbuff"}, {"alloc_skb", "skbuff"}, {"__alloc_skb", "skbuff"}, {"build_skb", "skbuff"}, {"napi_", "skbuff"},
	{"dev_", "netdev"}, {"__dev_", "netdev"}, {"netif_", "netdev"}, {"__netif_", "netdev"}, {"net_", "netdev"}, {"netdev_", "netdev"}, {"validate_xmit", "netdev"}, {"sch_", "netdev"}, {"qdisc_", "netdev"}, {"eth_", "netdev"}, {"neigh_", "netdev"},
	{"sock_", "socket"}, {"__sock_", "socket"}, {"sk_", "socket"}, {"__sk_", "socket"}, {"lock_sock", "socket"}, {"release_sock", "socket"}, {"__sys_", "socket"}, {"sockfd_", "socket"}, {"move_addr", "socket"},
	{"ep_", "epoll"}, {"do_epoll", "epoll"}, {"__x64_sys_epoll", "epoll"},
	{"do_sys_poll", "poll"}, {"do_poll", "poll"}, {"poll_", "poll"}, {"__pollwait", "poll"}, {"pollwake", "poll"}, {"__x64_sys_ppoll", "poll"}, {"do_select", "poll"},
	{"vfs_", "vfs"}, {"__fdget", "vfs"}, {"fdget", "vfs"}, {"fput", "vfs"}, {"__fput", "vfs"}, {"rw_verify_area", "vfs"}, {"ksys_", "vfs"}, {"fsnotify", "vfs"}, {"__fsnotify", "vfs"}, {"file_", "vfs"}, {"filemap_", "vfs"}, {"generic_file", "vfs"}, {"do_sys_open", "vfs"}, {"path_", "vfs"}, {"d_", "vfs"}, {"dput", "vfs"}, {"iput", "vfs"}, {"security_", "lsm"}, {"apparmor_", "lsm"}, {"aa_", "lsm"}, {"selinux_", "lsm"}, {"bpf_lsm_", "lsm"},
	{"ext4_", "ext4"}, {"iomap_", "vfs"}, {"touch_atime", "vfs"}, {"atime_", "vfs"},
	{"copy_", "uaccess"}, {"_copy_", "uaccess"}, {"__copy_", "uaccess"}, {"check_copy_size", "uaccess"}, {"check_stack_object", "uaccess"}, {"__check_object_size", "uaccess"}, {"check_heap_object", "uaccess"}, {"import_", "uaccess"}, {"iov_", "uaccess"}, {"_copy_from_iter", "uaccess"}, {"csum_", "checksum"},
	{"schedule", "sched"}, {"__schedule", "sched"}, {"pick_", "sched"}, {"put_prev", "sched"}, {"update_", "sched"}, {"dequeue_", "sched"}, {"enqueue_", "sched"}, {"check_preempt", "sched"}, {"try_to_wake", "sched"}, {"ttwu_", "sched"}, {"finish_task_switch", "sched"}, {"set_next_", "sched"}, {"__update_", "sched"}, {"wake_up", "sched"}, {"__wake_up", "sched"}, {"select_task_rq", "sched"}, {"psi_", "sched"}, {"prepare_to_wait", "sched"}, {"finish_wait", "sched"}, {"add_wait_queue", "sched"}, {"remove_wait_queue", "sched"}, {"autoremove_wake", "sched"}, {"default_wake", "sched"}, {"resched_", "sched"}, {"rcu_", "rcu"}, {"__rcu_", "rcu"},
	{"hrtimer_", "time"}, {"__hrtimer_", "time"}, {"ktime_", "time"}, {"posix_", "time"}, {"__x64_sys_clock", "time"}, {"timespec64", "time"}, {"get_timespec", "time"}, {"put_timespec", "time"}, {"poll_select", "poll"}, {"set_normalized_timespec", "time"}, {"timekeeping", "time"}, {"do_nanosleep", "time"}, {"schedule_hrtimeout", "time"},
	{"kmem_", "mm"}, {"kmalloc", "mm"}, {"__kmalloc", "mm"}, {"kfree", "mm"}, {"__kfree", "mm"}, {"slab_", "mm"}, {"__slab", "mm"}, {"page_", "mm"}, {"__page", "mm"}, {"alloc_pages", "mm"}, {"__alloc_pages", "mm"}, {"get_page", "mm"}, {"free_", "mm"}, {"__free", "mm"}, {"mem_cgroup", "mm"}, {"__mem_cgroup", "mm"}, {"memcg_", "mm"}, {"obj_cgroup", "mm"}, {"mod_", "mm"}, {"__mod_", "mm"}, {"handle_mm_fault", "mm"}, {"do_user_addr_fault", "mm"}, {"do_anonymous_page", "mm"}, {"do_fault", "mm"}, {"vma_", "mm"}, {"refill_obj", "mm"}, {"kvmalloc", "mm"}, {"kvfree", "mm"}, {"should_failslab", "mm"}, {"get_mem_cgroup", "mm"}, {"__get_free", "mm"}, {"__folio", "mm"}, {"folio_", "mm"},
	{"__x64_sys_", "syscall entry"}, {"syscall_", "syscall entry"}, {"do_syscall", "syscall entry"}, {"exit_to_user", "syscall entry"}, {"__secure_computing", "seccomp"}, {"__seccomp", "seccomp"}, {"seccomp_", "seccomp"}, {"fpregs_", "syscall entry"}, {"switch_fpu", "syscall entry"}, {"irqentry_", "syscall entry"},
	{"mutex_", "locking"}, {"_raw_", "locking"}, {"__mutex", "locking"}, {"down_", "locking"}, {"up_", "locking"}, {"preempt_", "locking"}, {"__local_bh", "locking"}, {"local_bh", "locking"},
}

// Subsystem names the subsystem of a kernel function from its module
// (" [tun]") or its name's prefix; "other" when neither says.
func Subsystem(fn string) string {
	if name, mod, ok := strings.Cut(fn, " ["); ok {
		_ = name
		return strings.TrimSuffix(mod, "]")
	}
	for _, p := range subsystemPrefixes {
		if strings.HasPrefix(fn, p.prefix) {
			return p.group
		}
	}
	return "other"
}

// Subsystems counts functions by Subsystem, largest first.
func Subsystems(fns []string) []Group {
	counts := map[string]int{}
	for _, f := range fns {
		counts[Subsystem(f)]++
	}
	var gs []Group
	for n, c := range counts {
		gs = append(gs, Group{n, c})
	}
	sort.Slice(gs, func(i, j int) bool {
		if gs[i].Count != gs[j].Count {
			return gs[i].Count > gs[j].Count
		}
		return gs[i].Name < gs[j].Name
	})
	return gs
}
