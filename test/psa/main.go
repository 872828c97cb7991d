// Command psa-check evaluates pod specs against the Kubernetes Pod Security Standards with the upstream
// admission library (k8s.io/pod-security-admission, the code kube-apiserver's PodSecurity plugin runs).
// stdin: a JSON array of {"level": "privileged|baseline|restricted", "version": "latest|v1.N", "pod": <Pod>};
// stdout: a JSON array of {"allowed": bool, "forbidden": ["<reason>: <detail>", ...]}, one per input.
package main

import (
	"encoding/json"
	"fmt"
	"os"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/pod-security-admission/api"
	"k8s.io/pod-security-admission/policy"
)

type request struct {
	Level   string     `json:"level"`
	Version string     `json:"version"`
	Pod     corev1.Pod `json:"pod"`
}

type verdict struct {
	Allowed   bool     `json:"allowed"`
	Forbidden []string `json:"forbidden"`
}

func main() {
	var reqs []request
	if err := json.NewDecoder(os.Stdin).Decode(&reqs); err != nil {
		fmt.Fprintf(os.Stderr, "psa-check: reading requests: %v\n", err)
		os.Exit(2)
	}
	evaluator, err := policy.NewEvaluator(policy.DefaultChecks())
	if err != nil {
		fmt.Fprintf(os.Stderr, "psa-check: %v\n", err)
		os.Exit(2)
	}
	out := make([]verdict, 0, len(reqs))
	for i, r := range reqs {
		level, err := api.ParseLevel(r.Level)
		if err != nil {
			fmt.Fprintf(os.Stderr, "psa-check: request %d: %v\n", i, err)
			os.Exit(2)
		}
		version, err := api.ParseVersion(r.Version)
		if err != nil {
			fmt.Fprintf(os.Stderr, "psa-check: request %d: %v\n", i, err)
			os.Exit(2)
		}
		results := evaluator.EvaluatePod(api.LevelVersion{Level: level, Version: version}, &r.Pod.ObjectMeta, &r.Pod.Spec)
		agg := policy.AggregateCheckResults(results)
		v := verdict{Allowed: agg.Allowed, Forbidden: []string{}}
		for _, res := range results {
			if !res.Allowed {
				v.Forbidden = append(v.Forbidden, res.ForbiddenReason+": "+res.ForbiddenDetail)
			}
		}
		out = append(out, v)
	}
	if err := json.NewEncoder(os.Stdout).Encode(out); err != nil {
		fmt.Fprintf(os.Stderr, "psa-check: %v\n", err)
		os.Exit(2)
	}
}
