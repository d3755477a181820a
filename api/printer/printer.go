package printer

import (
	"encoding/json"
	"fmt"
	"io"
	"reflect"
	"strings"
	"text/tabwriter"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/yaml"

	"github.com/podrun/podrun/api"
)

// Output formats of -o.
const (
	Table = "table"
	Wide  = "wide"
	JSON  = "json"
	YAML  = "yaml"
	Name  = "name"
)

// Options choose how objects are printed.
type Options struct {
	// Format is one of Table (also ""), Wide, JSON, YAML, Name.
	Format string
	// AllNamespaces adds the NAMESPACE column.
	AllNamespaces bool
	// Now is the clock ages are computed against (nil: time.Now).
	Now func() time.Time
}

// Printer prints pods, jobs, configmaps, secrets, events and images.
type Printer struct {
	out  io.Writer
	opts Options
	// headerDone is set once a watch has printed its table header.
	headerDone bool
}

// New returns a printer writing to out; it rejects an unknown format.
func New(out io.Writer, opts Options) (*Printer, error) {
	switch opts.Format {
	case "":
		opts.Format = Table
	case Table, Wide, JSON, YAML, Name:
	default:
		return nil, fmt.Errorf("unable to match a printer suitable for the output format %q, allowed formats are: json,name,table,wide,yaml", opts.Format)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Printer{out: out, opts: opts}, nil
}

// Format is the chosen output format.
func (p *Printer) Format() string { return p.opts.Format }

// PrintObject prints one object: a table row with its header, the object
// itself in json/yaml, or its name.
func (p *Printer) PrintObject(obj any) error {
	switch p.opts.Format {
	case JSON, YAML:
		return p.encode(withTypeMeta(obj))
	case Name:
		_, err := fmt.Fprintln(p.out, ResourceName(obj))
		return err
	}
	return p.table([]any{obj}, true)
}

// PrintList prints objects of one kind: a table, or in json/yaml a v1 List
// (for images the ImageList of the REST API).
func (p *Printer) PrintList(objs []any) error {
	switch p.opts.Format {
	case JSON, YAML:
		return p.encode(listOf(objs))
	case Name:
		for _, o := range objs {
			if _, err := fmt.Fprintln(p.out, ResourceName(o)); err != nil {
				return err
			}
		}
		return nil
	}
	return p.table(objs, true)
}

// PrintWatched prints one object of a watch stream: tables print their
// header before the first row only; json and yaml print each object as a
// document of its own.
func (p *Printer) PrintWatched(obj any) error {
	switch p.opts.Format {
	case JSON, YAML, Name:
		if p.opts.Format == YAML && p.headerDone {
			if _, err := fmt.Fprintln(p.out, "---"); err != nil {
				return err
			}
		}
		p.headerDone = true
		return p.PrintObject(obj)
	}
	err := p.table([]any{obj}, !p.headerDone)
	p.headerDone = true
	return err
}

func (p *Printer) encode(v any) error {
	if p.opts.Format == YAML {
		b, err := yaml.Marshal(v)
		if err != nil {
			return fmt.Errorf("encode yaml: %w", err)
		}
		_, err = p.out.Write(b)
		return err
	}
	b, err := json.MarshalIndent(v, "", "    ")
	if err != nil {
		return fmt.Errorf("encode json: %w", err)
	}
	_, err = fmt.Fprintf(p.out, "%s\n", b)
	return err
}

// list is a v1 List, what kubectl prints for a list in json or yaml.
type list struct {
	APIVersion string         `json:"apiVersion"`
	Kind       string         `json:"kind"`
	Items      []any          `json:"items"`
	Metadata   map[string]any `json:"metadata"`
}

func listOf(objs []any) any {
	items := make([]any, 0, len(objs))
	images := len(objs) > 0
	for _, o := range objs {
		if _, ok := o.(*api.Image); !ok {
			images = false
		}
		items = append(items, withTypeMeta(o))
	}
	if images {
		l := api.ImageList{}
		for _, o := range objs {
			l.Items = append(l.Items, *o.(*api.Image))
		}
		return l
	}
	return list{APIVersion: "v1", Kind: "List", Items: items, Metadata: map[string]any{"resourceVersion": ""}}
}

// withTypeMeta sets apiVersion and kind, which list items from a server
// usually lack, so every printed object names its type.
func withTypeMeta(obj any) any {
	if k, ok := servedKinds[reflect.TypeOf(obj)]; ok {
		obj.(runtime.Object).GetObjectKind().SetGroupVersionKind(k.gvk)
	}
	return obj
}

// ResourceName is kubectl's name of an object: pod/NAME, job.batch/NAME,
// configmap/NAME, secret/NAME, event/NAME, image/NAME.
func ResourceName(obj any) string {
	if img, ok := obj.(*api.Image); ok {
		return "image/" + img.Name
	}
	if k, ok := servedKinds[reflect.TypeOf(obj)]; ok {
		return k.resource + "/" + obj.(metav1.Object).GetName()
	}
	return fmt.Sprintf("%T", obj)
}

// servedKinds is each object type podrun serves: its group, version and kind,
// and kubectl's resource name of it.
var servedKinds = map[reflect.Type]struct {
	gvk      schema.GroupVersionKind
	resource string
}{
	reflect.TypeFor[*corev1.Pod]():       {corev1.SchemeGroupVersion.WithKind("Pod"), "pod"},
	reflect.TypeFor[*batchv1.Job]():      {batchv1.SchemeGroupVersion.WithKind("Job"), "job.batch"},
	reflect.TypeFor[*batchv1.CronJob]():  {batchv1.SchemeGroupVersion.WithKind("CronJob"), "cronjob.batch"},
	reflect.TypeFor[*corev1.ConfigMap](): {corev1.SchemeGroupVersion.WithKind("ConfigMap"), "configmap"},
	reflect.TypeFor[*corev1.Secret]():    {corev1.SchemeGroupVersion.WithKind("Secret"), "secret"},
	reflect.TypeFor[*corev1.Event]():     {corev1.SchemeGroupVersion.WithKind("Event"), "event"},
}

// table writes rows (and the header when header is set) kubectl's way:
// columns padded by three spaces.
func (p *Printer) table(objs []any, header bool) error {
	if len(objs) == 0 {
		return nil
	}
	cols, err := columnsFor(objs[0])
	if err != nil {
		return err
	}
	wide := p.opts.Format == Wide
	shown := cols.shown(wide)
	// kubectl's tabwriter settings.
	tw := tabwriter.NewWriter(p.out, 6, 4, 3, ' ', 0)
	if header {
		h := make([]string, 0, len(shown)+1)
		for _, i := range shown {
			h = append(h, strings.ToUpper(cols.defs[i].Name))
		}
		if p.opts.AllNamespaces && cols.namespaced {
			h = append([]string{"NAMESPACE"}, h...)
		}
		fmt.Fprintln(tw, strings.Join(h, "\t"))
	}
	now := p.opts.Now()
	for _, o := range objs {
		cells := cols.row(o, now, wide)
		row := make([]string, 0, len(shown)+1)
		for _, i := range shown {
			row = append(row, cells[i])
		}
		if p.opts.AllNamespaces && cols.namespaced {
			row = append([]string{namespaceOf(o)}, row...)
		}
		fmt.Fprintln(tw, strings.Join(row, "\t"))
	}
	return tw.Flush()
}
