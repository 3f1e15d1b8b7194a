// SPDX-License-Identifier: Apache-2.0
// A peer built on containerd's Go ttrpc (Debian's golang-github-containerd-ttrpc-dev, GOPATH
// mode, offline), for interop tests of vcsim's ttrpc: "client PATH" calls grpc.Health/Check and
// grpc.Health/Version over a unix socket and prints what came back; "server PATH" serves both
// until killed. Messages are plain structs with protobuf tags, so no generated code is needed.
package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"time"

	"github.com/containerd/ttrpc"
)

// grpc.CheckRequest {1 service string}
type CheckRequest struct {
	Service string `protobuf:"bytes,1,opt,name=service,proto3"`
}

func (m *CheckRequest) Reset()         { *m = CheckRequest{} }
func (m *CheckRequest) String() string { return fmt.Sprintf("CheckRequest{%q}", m.Service) }
func (*CheckRequest) ProtoMessage()    {}

// grpc.HealthCheckResponse {1 status enum}
type HealthCheckResponse struct {
	Status int32 `protobuf:"varint,1,opt,name=status,proto3"`
}

func (m *HealthCheckResponse) Reset()         { *m = HealthCheckResponse{} }
func (m *HealthCheckResponse) String() string { return fmt.Sprintf("status=%d", m.Status) }
func (*HealthCheckResponse) ProtoMessage()    {}

// grpc.VersionCheckResponse {1 grpc_version string; 2 agent_version string}
type VersionCheckResponse struct {
	GrpcVersion  string `protobuf:"bytes,1,opt,name=grpc_version,proto3"`
	AgentVersion string `protobuf:"bytes,2,opt,name=agent_version,proto3"`
}

func (m *VersionCheckResponse) Reset() { *m = VersionCheckResponse{} }
func (m *VersionCheckResponse) String() string {
	return fmt.Sprintf("grpc_version=%s agent_version=%s", m.GrpcVersion, m.AgentVersion)
}
func (*VersionCheckResponse) ProtoMessage() {}

func runClient(path string) error {
	conn, err := net.DialTimeout("unix", path, 5*time.Second)
	if err != nil {
		return err
	}
	client := ttrpc.NewClient(conn)
	defer client.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var hc HealthCheckResponse
	if err := client.Call(ctx, "grpc.Health", "Check", &CheckRequest{}, &hc); err != nil {
		return fmt.Errorf("Check: %w", err)
	}
	fmt.Printf("Check %s\n", hc.String())
	var vc VersionCheckResponse
	if err := client.Call(ctx, "grpc.Health", "Version", &CheckRequest{}, &vc); err != nil {
		return fmt.Errorf("Version: %w", err)
	}
	fmt.Printf("Version %s\n", vc.String())
	var none HealthCheckResponse
	err = client.Call(ctx, "grpc.Nothing", "Check", &CheckRequest{}, &none)
	fmt.Printf("Unknown %v\n", err)
	return nil
}

func runServer(path string) error {
	_ = os.Remove(path)
	l, err := net.Listen("unix", path)
	if err != nil {
		return err
	}
	s, err := ttrpc.NewServer()
	if err != nil {
		return err
	}
	s.Register("grpc.Health", map[string]ttrpc.Method{
		"Check": func(ctx context.Context, unmarshal func(interface{}) error) (interface{}, error) {
			var req CheckRequest
			if err := unmarshal(&req); err != nil {
				return nil, err
			}
			return &HealthCheckResponse{Status: 1}, nil
		},
		"Version": func(ctx context.Context, unmarshal func(interface{}) error) (interface{}, error) {
			var req CheckRequest
			if err := unmarshal(&req); err != nil {
				return nil, err
			}
			return &VersionCheckResponse{GrpcVersion: "go-ttrpc", AgentVersion: "interop"}, nil
		},
	})
	fmt.Println("listening")
	return s.Serve(context.Background(), l)
}

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: ttrpcpeer client|server SOCKET")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "client":
		err = runClient(os.Args[2])
	case "server":
		err = runServer(os.Args[2])
	default:
		err = fmt.Errorf("unknown mode %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "ttrpcpeer:", err)
		os.Exit(1)
	}
}
