package shutdown

import metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

func metaType() metav1.TypeMeta                { return metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"} }
func metaObject(name string) metav1.ObjectMeta { return metav1.ObjectMeta{Name: name} }
