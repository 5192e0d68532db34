package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/kubia-dev/kubia/internal/images"
	"github.com/kubia-dev/kubia/internal/localcluster"
)

func newImagesCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "images",
		Short: "Build the container images Kubia's node runs",
	}
	var load bool
	build := &cobra.Command{
		Use:   "build",
		Short: "Build every image (cached by content) and print each archive's path",
		Long: `Builds the images the local node runs, without a registry: the pod sandbox (pause),
CoreDNS, kubia-sync, kubia-controller-manager, nginx and PostgreSQL 15 (from Debian packages, via debootstrap;
needs root), as
docker-archive tarballs under ${XDG_CACHE_HOME:-~/.cache}/kubia/images, tagged
localhost/kubia/<name>:local. Unchanged inputs reuse the cached archive. With --import
they are loaded into the running node's containerd.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			binDir, err := localcluster.DefaultBinDir()
			if err != nil {
				return err
			}
			archives, err := buildImages(binDir)
			if err != nil {
				return err
			}
			for _, archive := range archives {
				fmt.Fprintln(cmd.OutOrStdout(), archive)
			}
			if !load {
				return nil
			}
			return localcluster.ImportImages(cmd.Context(), binDir, archives)
		},
	}
	build.Flags().BoolVar(&load, "import", false, "also import the images into the running node")
	cmd.AddCommand(build)
	return cmd
}

// buildImages builds (or finds cached) the node's own images and those Kubia's features
// run (nginx, kubia-sync, kubia-controller-manager, kubia-broker, kubia-apiserver, its
// etcd and kubia-router for the chart, PostgreSQL), returning their archives.
func buildImages(binDir string) ([]string, error) {
	return images.NodeArchives(binDir, images.Nginx, images.Sync, images.ControllerManager, images.Broker, images.PostgreSQL,
		images.APIServer, images.Etcd, images.Router)
}
