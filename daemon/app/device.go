package app

import (
	"context"
	"path/filepath"
	"sync"
	"time"

	"github.com/podrun/podrun/daemon/dirwatch"
	"github.com/podrun/podrun/daemon/imagedir"
	"github.com/podrun/podrun/daemon/manifests"
	"go.uber.org/zap"
)

// imageDirRecord is the image directory's record of what it imported,
// under --root.
const imageDirRecord = "imagedir.json"

// setUpDevice makes the first pass over the image directory, then the
// manifest directory (images first, so that a pod of the manifests finds
// its image; ConfigMaps and Secrets before the pods that mount them), and
// then watches both until ctx ends. podrund is Ready only after the first
// pass. A directory that cannot be used is logged; podrund serves anyway.
// The returned wait blocks until the watches ended (after ctx), so that
// no pass outlives the store.
func (d *daemon) setUpDevice(ctx context.Context) (wait func()) {
	type dir struct {
		path     string
		relevant func(string) bool
		pass     func(context.Context) error
	}
	var dirs []dir
	if d.cfg.ImageDir != "" {
		m, err := imagedir.New(imagedir.Options{Dir: d.cfg.ImageDir, Record: filepath.Join(d.cfg.Root, imageDirRecord),
			Images: d.images, Events: d.objs, Logger: d.log.Named("imagedir")})
		if err != nil {
			d.log.Error("image directory", zap.Error(err))
		} else {
			dirs = append(dirs, dir{d.cfg.ImageDir, imagedir.IsArchiveName, m.Sync})
		}
	}
	if d.cfg.ManifestDir != "" {
		m, err := manifests.New(manifests.Options{Dir: d.cfg.ManifestDir, API: manifests.NewObjectsAPI(d.objs),
			Events: d.objs, Logger: d.log.Named("manifests")})
		if err != nil {
			d.log.Error("manifest directory", zap.Error(err))
		} else {
			dirs = append(dirs, dir{d.cfg.ManifestDir, manifests.IsManifestName, m.Sync})
		}
	}
	for _, x := range dirs {
		stop := d.keepSettingUp("first pass over " + x.path)
		err := x.pass(ctx)
		stop()
		if err != nil {
			d.log.Error("first pass over a device directory", zap.String("dir", x.path), zap.Error(err))
		}
	}
	var wg sync.WaitGroup
	for _, x := range dirs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := dirwatch.RunPasses(ctx, x.path, dirwatch.Options{Relevant: x.relevant}, d.log, x.pass); err != nil {
				d.log.Error("watch a device directory; changes are applied at the next start", zap.String("dir", x.path), zap.Error(err))
			}
		}()
	}
	return wg.Wait
}

// keepSettingUp calls the SettingUp hook now and every SettingUpInterval
// until stop is called (systemd's start timeout is extended meanwhile).
func (d *daemon) keepSettingUp(status string) (stop func()) {
	hook, every := d.opts.SettingUp, d.opts.SettingUpInterval
	if hook == nil || every <= 0 {
		return func() {}
	}
	hook(status)
	done := make(chan struct{})
	go func() {
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				hook(status)
			}
		}
	}()
	return func() { close(done) }
}
