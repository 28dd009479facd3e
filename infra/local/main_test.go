package local_test

import (
	"testing"

	"github.com/snapkeep/snapkeep/shared/awslocal/awstest"
)

func TestMain(m *testing.M) { awstest.Main(m) }
