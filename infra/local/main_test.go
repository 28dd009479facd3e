package local_test

import (
	"testing"

	"github.com/snapkeep/snapkeep/infra/awslocal/awstest"
)

func TestMain(m *testing.M) { awstest.Main(m) }
