package apivalidation

import (
	"encoding/json"
	"strings"
)

func set(path string, v any) mutation {
	return mutation{name: "set " + path, path: path, op: opSet, value: v}
}
func del(path string) mutation { return mutation{name: "delete " + path, path: path, op: opDelete} }
func dup(path string) mutation {
	return mutation{name: "duplicate " + path + "[0]", path: path, op: opCopy}
}

// each is one mutation per value at path.
func each(path string, values ...any) []mutation {
	out := make([]mutation, len(values))
	for i, v := range values {
		out[i] = set(path, v)
	}
	return out
}

// containers are the container lists of a pod spec.
var containers = []string{"@.containers.0", "@.initContainers.0"}

// badNames are values no DNS-1123 name, label or key accepts, and edges
// that some do.
var badNames = []any{"", "Bad_Name", "-lead", "trail-", "a.b", "UPPER", strings.Repeat("a", 64), strings.Repeat("a", 254), "a/b", "..", "."}

// huge is a value well past every length limit but inside the body limit.
var huge = strings.Repeat("x", 300*1024)

// mutations are what each document of the corpus is mutated by.
func mutations() []mutation {
	ms := []mutation{
		del("metadata.name"), del("metadata"), set("metadata.generateName", "gen-"),
		set("metadata.namespace", "Bad_NS"), set("metadata.namespace", "other"),
		set("metadata.labels", map[string]any{"bad key!": "v"}),
		set("metadata.labels", map[string]any{"k": "bad value!"}),
		set("metadata.labels", map[string]any{"example.com/k": strings.Repeat("v", 64)}),
		set("metadata.annotations", map[string]any{"big": huge}),
		set("metadata.annotations", map[string]any{"Bad Key": "v"}),
		set("metadata.finalizers", []any{"bad finalizer"}),
		set("metadata.ownerReferences", []any{map[string]any{"apiVersion": "v1", "kind": "Pod", "name": "", "uid": ""}}),
		set("metadata.resourceVersion", "12"), set("metadata.uid", "u"),
		set("metadata.foo", "unknown"), set("spec.foo", "unknown"), set("bogus", 1),
		set("apiVersion", "v2"), set("kind", "Pdo"),
	}
	ms = append(ms, each("metadata.name", badNames...)...)
	ms = append(ms, podSpecMutations()...)
	for _, c := range containers {
		ms = append(ms, containerMutations(c)...)
	}
	ms = append(ms, jobMutations()...)
	ms = append(ms, dataMutations()...)
	return ms
}

func podSpecMutations() []mutation {
	ms := []mutation{
		del("@.containers"), set("@.containers", []any{}), dup("@.containers"), dup("@.initContainers"),
		dup("@.volumes"), del("@.volumes.0.name"), set("@.volumes.0.name", "Bad_Name"),
		set("@.volumes.0.emptyDir", map[string]any{}), set("@.volumes.0.hostPath", map[string]any{"path": "/tmp"}),
		set("@.volumes.0.cephfs", map[string]any{"monitors": []any{"m"}}), set("@.volumes", []any{map[string]any{"name": "v"}}),
		set("@.terminationGracePeriodSeconds", -1), set("@.activeDeadlineSeconds", 0), set("@.activeDeadlineSeconds", -5),
		set("@.hostname", "Bad_Host"), set("@.subdomain", "Bad_Sub"), set("@.hostname", strings.Repeat("h", 64)),
		set("@.nodeName", "other-node"), set("@.nodeName", "Bad_Node"),
		set("@.schedulingGates", []any{map[string]any{"name": "example.com/gate"}}),
		set("@.resourceClaims", []any{map[string]any{"name": "c", "resourceClaimName": "rc"}}),
		set("@.priority", 5), set("@.priorityClassName", "Bad_Class"), set("@.runtimeClassName", "Bad_RC"),
		set("@.serviceAccountName", "Bad_SA"), set("@.schedulerName", "Bad_Sched"),
		set("@.tolerations", []any{map[string]any{"key": "k", "operator": "Sometimes"}}),
		set("@.tolerations", []any{map[string]any{"key": "k", "operator": "Exists", "value": "v"}}),
		set("@.nodeSelector", map[string]any{"bad key!": "v"}),
		set("@.hostAliases", []any{map[string]any{"ip": "not-an-ip", "hostnames": []any{"a"}}}),
		set("@.hostAliases", []any{map[string]any{"ip": "10.0.0.1", "hostnames": []any{"bad host\nname"}}}),
		set("@.dnsConfig", map[string]any{"nameservers": []any{"bad"}}),
		set("@.dnsConfig", map[string]any{"searches": []any{"Bad_Search"}}),
		set("@.hostNetwork", true), set("@.hostPID", true), set("@.hostIPC", true), set("@.shareProcessNamespace", true),
		set("@.securityContext", map[string]any{"runAsUser": -1}),
		set("@.securityContext", map[string]any{"fsGroup": -1}),
		set("@.securityContext", map[string]any{"sysctls": []any{map[string]any{"name": "bad sysctl", "value": "1"}}}),
		set("@.securityContext", map[string]any{"seccompProfile": map[string]any{"type": "Sometimes"}}),
		set("@.securityContext", map[string]any{"seccompProfile": map[string]any{"type": "Localhost"}}),
		set("@.securityContext", map[string]any{"fsGroupChangePolicy": "Sometimes"}),
		set("@.affinity", map[string]any{"nodeAffinity": map[string]any{"requiredDuringSchedulingIgnoredDuringExecution": map[string]any{"nodeSelectorTerms": []any{}}}}),
		set("@.topologySpreadConstraints", []any{map[string]any{"maxSkew": 0, "topologyKey": "", "whenUnsatisfiable": "Sometimes"}}),
		set("@.overhead", map[string]any{"cpu": "1"}),
		set("@.os", map[string]any{"name": "plan9"}),
		set("@.hostUsers", false),
		set("@.readinessGates", []any{map[string]any{"conditionType": "bad type!"}}),
		set("@.ephemeralContainers", []any{map[string]any{"name": "e", "image": "busybox"}}),
		set("@.preemptionPolicy", "Sometimes"),
		set("@.setHostnameAsFQDN", true),
		set("@.imagePullSecrets", []any{map[string]any{"name": ""}}),
		set("@.enableServiceLinks", false),
		set("@.resources", map[string]any{"limits": map[string]any{"cpu": "1"}}),
		set("@.hostnameOverride", "Bad_Override"),
	}
	ms = append(ms, each("@.restartPolicy", "Sometimes", "", "Always", "OnFailure", "Never")...)
	ms = append(ms, each("@.dnsPolicy", "Sometimes", "None", "Default", "ClusterFirstWithHostNet")...)
	ms = append(ms, volumeMutations()...)
	return ms
}

// volumeMutations replace the first volume with one of each source and
// edge.
func volumeMutations() []mutation {
	vol := func(src map[string]any) mutation {
		v := map[string]any{"name": "vol"}
		var name string
		for k, s := range src {
			v[k] = s
			name = k
		}
		m := set("@.volumes", []any{v})
		m.name = "volume " + name + " " + abbreviate(jsonString(src), 80)
		return m
	}
	srcs := []map[string]any{
		{"awsElasticBlockStore": map[string]any{"volumeID": "vol-1"}},
		{"gcePersistentDisk": map[string]any{"pdName": "d"}},
		{"azureDisk": map[string]any{"diskName": "d", "diskURI": "u"}},
		{"nfs": map[string]any{"server": "s", "path": "/p"}},
		{"iscsi": map[string]any{"targetPortal": "1.2.3.4", "iqn": "iqn.2001-04.com.example:storage", "lun": 0}},
		{"csi": map[string]any{"driver": "example.com"}},
		{"persistentVolumeClaim": map[string]any{"claimName": "c"}},
		{"ephemeral": map[string]any{"volumeClaimTemplate": map[string]any{"spec": map[string]any{"accessModes": []any{"ReadWriteOnce"}, "resources": map[string]any{"requests": map[string]any{"storage": "1Gi"}}}}}},
		{"image": map[string]any{"reference": "busybox"}},
		{"cephfs": map[string]any{"monitors": []any{"m"}}},
		{"fc": map[string]any{"wwids": []any{"w"}}},
		{"rbd": map[string]any{"monitors": []any{"m"}, "image": "i"}},
		{"glusterfs": map[string]any{"endpoints": "e", "path": "p"}},
		{"gitRepo": map[string]any{"repository": "r"}},
		{"emptyDir": map[string]any{"medium": "Tape"}},
		{"emptyDir": map[string]any{"sizeLimit": "-1Gi"}},
		{"emptyDir": map[string]any{"medium": "Memory", "sizeLimit": "1Gi"}},
		{"hostPath": map[string]any{"path": ""}},
		{"hostPath": map[string]any{"path": "/tmp", "type": "Sometimes"}},
		{"hostPath": map[string]any{"path": "/tmp/../etc"}},
		{"configMap": map[string]any{"name": ""}},
		{"configMap": map[string]any{"name": "c", "defaultMode": 01000}},
		{"configMap": map[string]any{"name": "c", "items": []any{map[string]any{"key": "k", "path": "../x"}}}},
		{"configMap": map[string]any{"name": "c", "items": []any{map[string]any{"key": "k", "path": "/abs"}}}},
		{"configMap": map[string]any{"name": "c", "items": []any{map[string]any{"key": "", "path": "p"}}}},
		{"configMap": map[string]any{"name": "c", "items": []any{map[string]any{"key": "k", "path": "..data/x"}}}},
		{"configMap": map[string]any{"name": "c", "items": []any{map[string]any{"key": "k", "path": "p", "mode": -1}}}},
		{"secret": map[string]any{"secretName": "Bad_Name"}},
		{"secret": map[string]any{}},
		{"secret": map[string]any{"secretName": "s", "items": []any{map[string]any{"key": "k", "path": "a/../../b"}}}},
		{"downwardAPI": map[string]any{"items": []any{map[string]any{"path": "p", "fieldRef": map[string]any{"fieldPath": "spec.bogus"}}}}},
		{"downwardAPI": map[string]any{"items": []any{map[string]any{"path": "p"}}}},
		{"downwardAPI": map[string]any{"items": []any{map[string]any{"path": "p", "resourceFieldRef": map[string]any{"resource": "limits.cpu"}}}}},
		{"projected": map[string]any{"sources": []any{map[string]any{}}}},
		{"projected": map[string]any{"sources": []any{map[string]any{"serviceAccountToken": map[string]any{"path": "t", "expirationSeconds": 10}}}}},
		{"projected": map[string]any{"sources": []any{map[string]any{"clusterTrustBundle": map[string]any{"path": "t", "name": "b"}}}}},
		{"projected": map[string]any{"sources": []any{map[string]any{"configMap": map[string]any{"name": "c"}}, map[string]any{"secret": map[string]any{"name": "s"}}}}},
	}
	ms := make([]mutation, 0, len(srcs))
	for _, s := range srcs {
		ms = append(ms, vol(s))
	}
	return ms
}

func jsonString(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// containerMutations change the container at c.
func containerMutations(c string) []mutation {
	probe := func(name string, p map[string]any) mutation {
		m := set(c+".livenessProbe", p)
		m.name = c + " livenessProbe " + name
		return m
	}
	ms := []mutation{
		del(c + ".name"), del(c + ".image"), set(c+".image", " busybox"), set(c+".image", "busybox "),
		set(c+".imagePullPolicy", "Sometimes"), set(c+".terminationMessagePolicy", "Sometimes"),
		set(c+".terminationMessagePath", ""), set(c+".workingDir", strings.Repeat("w", 5000)),
		set(c+".restartPolicy", "Sometimes"), set(c+".restartPolicy", "Always"), set(c+".restartPolicy", "Never"),
		set(c+".ports", []any{map[string]any{"containerPort": 0}}),
		set(c+".ports", []any{map[string]any{"containerPort": 70000}}),
		set(c+".ports", []any{map[string]any{"containerPort": 80, "hostPort": -1}}),
		set(c+".ports", []any{map[string]any{"containerPort": 80, "protocol": "XTP"}}),
		set(c+".ports", []any{map[string]any{"containerPort": 80, "name": "Bad_Port"}}),
		set(c+".ports", []any{map[string]any{"containerPort": 80, "name": "portnamewaytoolong"}}),
		set(c+".ports", []any{map[string]any{"containerPort": 80, "name": "p"}, map[string]any{"containerPort": 81, "name": "p"}}),
		set(c+".ports", []any{map[string]any{"containerPort": 80}, map[string]any{"containerPort": 80}}),
		set(c+".ports", []any{map[string]any{"containerPort": 80, "hostIP": "bad"}}),
		set(c+".resources", map[string]any{"limits": map[string]any{"cpu": "100m"}, "requests": map[string]any{"cpu": "200m"}}),
		set(c+".resources", map[string]any{"limits": map[string]any{"cpu": "-1"}}),
		set(c+".resources", map[string]any{"requests": map[string]any{"memory": "-1Mi"}}),
		set(c+".resources", map[string]any{"limits": map[string]any{"bogus": "1"}}),
		set(c+".resources", map[string]any{"limits": map[string]any{"example.com/dongle": "1.5"}}),
		set(c+".resources", map[string]any{"limits": map[string]any{"hugepages-2Mi": "2Mi"}}),
		set(c+".resources", map[string]any{"claims": []any{map[string]any{"name": "c"}}}),
		set(c+".resources", map[string]any{"limits": map[string]any{"cpu": "abc"}}),
		set(c+".resizePolicy", []any{map[string]any{"resourceName": "cpu", "restartPolicy": "Sometimes"}}),
		set(c+".env", []any{map[string]any{"name": ""}}),
		set(c+".env", []any{map[string]any{"name": "1BAD"}}),
		set(c+".env", []any{map[string]any{"name": "A=B"}}),
		set(c+".env", []any{map[string]any{"name": "A", "value": "v", "valueFrom": map[string]any{"fieldRef": map[string]any{"fieldPath": "metadata.name"}}}}),
		set(c+".env", []any{map[string]any{"name": "A", "valueFrom": map[string]any{}}}),
		set(c+".env", []any{map[string]any{"name": "A", "valueFrom": map[string]any{"fieldRef": map[string]any{"fieldPath": "spec.bogus"}}}}),
		set(c+".env", []any{map[string]any{"name": "A", "valueFrom": map[string]any{"resourceFieldRef": map[string]any{"resource": "limits.bogus"}}}}),
		set(c+".env", []any{map[string]any{"name": "A", "valueFrom": map[string]any{"configMapKeyRef": map[string]any{"name": "c", "key": "bad key!"}}}}),
		set(c+".env", []any{map[string]any{"name": "A", "valueFrom": map[string]any{"secretKeyRef": map[string]any{"name": "", "key": "k"}}}}),
		set(c+".envFrom", []any{map[string]any{"prefix": "1=", "configMapRef": map[string]any{"name": "c"}}}),
		set(c+".envFrom", []any{map[string]any{}}),
		set(c+".volumeMounts", []any{map[string]any{"name": "nope", "mountPath": "/x"}}),
		set(c+".volumeMounts", []any{map[string]any{"name": "", "mountPath": ""}}),
		set(c+".volumeDevices", []any{map[string]any{"name": "v", "devicePath": "/dev/x"}}),
		set(c+".securityContext", map[string]any{"runAsUser": -1}),
		set(c+".securityContext", map[string]any{"privileged": true, "allowPrivilegeEscalation": false}),
		set(c+".securityContext", map[string]any{"capabilities": map[string]any{"add": []any{"SYS_ADMIN"}}}),
		set(c+".securityContext", map[string]any{"procMount": "Sometimes"}),
		set(c+".securityContext", map[string]any{"seLinuxOptions": map[string]any{"level": "s0"}}),
		set(c+".securityContext", map[string]any{"appArmorProfile": map[string]any{"type": "Localhost"}}),
		set(c+".lifecycle", map[string]any{"preStop": map[string]any{}}),
		set(c+".lifecycle", map[string]any{"postStart": map[string]any{"sleep": map[string]any{"seconds": -1}}}),
		set(c+".lifecycle", map[string]any{"stopSignal": "SIGBOGUS"}),
		set(c+".stdinOnce", true), set(c+".foo", "unknown"),
		probe("no handler", map[string]any{}),
		probe("two handlers", map[string]any{"exec": map[string]any{"command": []any{"true"}}, "tcpSocket": map[string]any{"port": 80}}),
		probe("port 0", map[string]any{"httpGet": map[string]any{"port": 0}}),
		probe("bad port name", map[string]any{"httpGet": map[string]any{"port": "Bad_Name"}}),
		probe("bad scheme", map[string]any{"httpGet": map[string]any{"port": 80, "scheme": "FTP"}}),
		probe("negative period", map[string]any{"tcpSocket": map[string]any{"port": 80}, "periodSeconds": -1}),
		probe("success 2", map[string]any{"tcpSocket": map[string]any{"port": 80}, "successThreshold": 2}),
		probe("grpc port 0", map[string]any{"grpc": map[string]any{"port": 0}}),
		probe("grace -1", map[string]any{"tcpSocket": map[string]any{"port": 80}, "terminationGracePeriodSeconds": -1}),
		probe("header", map[string]any{"httpGet": map[string]any{"port": 80, "httpHeaders": []any{map[string]any{"name": "Bad Header", "value": "v"}}}}),
	}
	ms = append(ms, each(c+".name", badNames...)...)
	for _, sub := range []string{"../x", "/abs", "a/../b", "ok/sub"} {
		ms = append(ms, set(c+".volumeMounts", []any{map[string]any{"name": "vol", "mountPath": "/m", "subPath": sub}}))
	}
	for _, mp := range []string{"relative", "/a:b", "/m/../n"} {
		ms = append(ms, set(c+".volumeMounts", []any{map[string]any{"name": "vol", "mountPath": mp}}))
	}
	return ms
}

func jobMutations() []mutation {
	ms := []mutation{
		del("spec.template"), set("spec.template.metadata", map[string]any{"labels": map[string]any{"bad key!": "v"}}),
		set("spec.manualSelector", true),
		set("spec.selector", map[string]any{"matchLabels": map[string]any{"other": "x"}}),
		set("spec.completionMode", "Sometimes"),
		set("spec.podFailurePolicy", map[string]any{"rules": []any{map[string]any{"action": "Sometimes"}}}),
		set("spec.podFailurePolicy", map[string]any{"rules": []any{map[string]any{"action": "FailJob", "onExitCodes": map[string]any{"operator": "In", "values": []any{0}}}}}),
		set("spec.podFailurePolicy", map[string]any{"rules": []any{map[string]any{"action": "Ignore", "onPodConditions": []any{map[string]any{"type": "DisruptionTarget"}}}}}),
		set("spec.successPolicy", map[string]any{"rules": []any{map[string]any{"succeededCount": 1}}}),
		set("spec.podReplacementPolicy", "Sometimes"), set("spec.podReplacementPolicy", "Failed"),
		set("spec.maxFailedIndexes", 1), set("spec.backoffLimitPerIndex", 1),
		set("spec.managedBy", "example.com/other"),
	}
	for _, f := range []string{"parallelism", "completions", "backoffLimit", "activeDeadlineSeconds", "ttlSecondsAfterFinished"} {
		ms = append(ms, each("spec."+f, -1, 0, 2147483648)...)
	}
	ms = append(ms, jobIndexedMutations()...)
	return ms
}

// jobIndexedMutations turn a Job Indexed with index limits.
func jobIndexedMutations() []mutation {
	indexed := func(name string, extra map[string]any) mutation {
		return mutation{name: "indexed " + name, path: "spec", op: opMerge, value: extra}
	}
	return []mutation{
		indexed("no completions", map[string]any{"completionMode": "Indexed", "completions": nil}),
		indexed("ok", map[string]any{"completionMode": "Indexed", "completions": 3, "parallelism": 2}),
		indexed("per-index", map[string]any{"completionMode": "Indexed", "completions": 3, "backoffLimitPerIndex": 1, "maxFailedIndexes": 5}),
		indexed("success policy", map[string]any{"completionMode": "Indexed", "completions": 3, "successPolicy": map[string]any{"rules": []any{map[string]any{"succeededIndexes": "0-9"}}}}),
		indexed("huge", map[string]any{"completionMode": "Indexed", "completions": 200000, "parallelism": 200000}),
	}
}

// dataMutations change ConfigMap and Secret data.
func dataMutations() []mutation {
	ms := []mutation{
		set("data", map[string]any{"bad key!": "v"}), set("data", map[string]any{"..": "v"}),
		set("data", map[string]any{"a/b": "v"}), set("data", map[string]any{"": "v"}),
		set("data", map[string]any{"big": strings.Repeat("x", 1<<20+1)}),
		set("data", map[string]any{"k": "v"}), set("binaryData", map[string]any{"k": "dg=="}),
		set("stringData", map[string]any{"bad key!": "v"}),
		set("immutable", true),
	}
	for _, t := range []string{"kubernetes.io/tls", "kubernetes.io/dockerconfigjson", "kubernetes.io/dockercfg",
		"kubernetes.io/basic-auth", "kubernetes.io/ssh-auth", "kubernetes.io/service-account-token",
		"bootstrap.kubernetes.io/token", "Opaque", "example.com/custom", "Bad Type"} {
		ms = append(ms, set("type", t))
	}
	ms = append(ms, set("data", map[string]any{".dockerconfigjson": "bm90IGpzb24="}), set("data", map[string]any{"username": ""}))
	return ms
}
