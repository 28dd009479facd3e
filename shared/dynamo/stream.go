package dynamo

import (
	"fmt"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	streamtypes "github.com/aws/aws-sdk-go-v2/service/dynamodbstreams/types"
)

// FromStreamImage converts a stream image as Lambda delivers it (aws-lambda-go
// events) into the SDK's DynamoDB attribute values, so that the stores'
// attributevalue decoding can read it. Every DynamoDB data type is converted
// explicitly: the two libraries model the same wire types with different Go
// types, and an unconverted value must be an error, not a silent zero.
func FromStreamImage(img map[string]events.DynamoDBAttributeValue) (map[string]types.AttributeValue, error) {
	if img == nil {
		return nil, nil
	}
	out := make(map[string]types.AttributeValue, len(img))
	for name, v := range img {
		av, err := fromStreamValue(v)
		if err != nil {
			return nil, fmt.Errorf("attribute %q: %w", name, err)
		}
		out[name] = av
	}
	return out, nil
}

// fromStreamValue converts one value. aws-lambda-go's accessors panic on a
// value whose content does not match its data type (the zero
// DynamoDBAttributeValue claims to be binary but holds nothing); that panic
// becomes an error here.
func fromStreamValue(v events.DynamoDBAttributeValue) (av types.AttributeValue, err error) {
	defer func() {
		if r := recover(); r != nil {
			av, err = nil, fmt.Errorf("malformed stream attribute value (data type %d): %v", v.DataType(), r)
		}
	}()
	switch t := v.DataType(); t {
	case events.DataTypeString:
		return &types.AttributeValueMemberS{Value: v.String()}, nil
	case events.DataTypeNumber:
		return &types.AttributeValueMemberN{Value: v.Number()}, nil
	case events.DataTypeBinary:
		return &types.AttributeValueMemberB{Value: cloneBytes(v.Binary())}, nil
	case events.DataTypeBoolean:
		return &types.AttributeValueMemberBOOL{Value: v.Boolean()}, nil
	case events.DataTypeNull:
		return &types.AttributeValueMemberNULL{Value: true}, nil
	case events.DataTypeList:
		in := v.List()
		l := make([]types.AttributeValue, len(in))
		for i, e := range in {
			av, err := fromStreamValue(e)
			if err != nil {
				return nil, fmt.Errorf("list element %d: %w", i, err)
			}
			l[i] = av
		}
		return &types.AttributeValueMemberL{Value: l}, nil
	case events.DataTypeMap:
		m, err := FromStreamImage(v.Map())
		if err != nil {
			return nil, err
		}
		if m == nil {
			m = map[string]types.AttributeValue{}
		}
		return &types.AttributeValueMemberM{Value: m}, nil
	case events.DataTypeStringSet:
		return &types.AttributeValueMemberSS{Value: append([]string(nil), v.StringSet()...)}, nil
	case events.DataTypeNumberSet:
		return &types.AttributeValueMemberNS{Value: append([]string(nil), v.NumberSet()...)}, nil
	case events.DataTypeBinarySet:
		in := v.BinarySet()
		bs := make([][]byte, len(in))
		for i, b := range in {
			bs[i] = cloneBytes(b)
		}
		return &types.AttributeValueMemberBS{Value: bs}, nil
	default:
		return nil, fmt.Errorf("unsupported stream attribute data type %d", t)
	}
}

// UnmarshalStreamImage decodes a stream image (NewImage or OldImage of an
// events.DynamoDBEventRecord) into out, exactly as the stores decode an item
// they read: FromStreamImage, then attributevalue.UnmarshalMap.
func UnmarshalStreamImage(img map[string]events.DynamoDBAttributeValue, out any) error {
	item, err := FromStreamImage(img)
	if err != nil {
		return fmt.Errorf("convert stream image: %w", err)
	}
	if err := attributevalue.UnmarshalMap(item, out); err != nil {
		return fmt.Errorf("unmarshal stream image: %w", err)
	}
	return nil
}

// ToStreamImage converts attribute values read from the DynamoDB Streams API
// (dynamodbstreams types) into the aws-lambda-go representation Lambda
// delivers to a stream handler. It is the reverse of FromStreamImage and is
// used by the local stream reader (infra/awslocal/awstest).
func ToStreamImage(img map[string]streamtypes.AttributeValue) (map[string]events.DynamoDBAttributeValue, error) {
	if img == nil {
		return nil, nil
	}
	out := make(map[string]events.DynamoDBAttributeValue, len(img))
	for name, v := range img {
		ev, err := toStreamValue(v)
		if err != nil {
			return nil, fmt.Errorf("attribute %q: %w", name, err)
		}
		out[name] = ev
	}
	return out, nil
}

func toStreamValue(v streamtypes.AttributeValue) (events.DynamoDBAttributeValue, error) {
	switch tv := v.(type) {
	case *streamtypes.AttributeValueMemberS:
		return events.NewStringAttribute(tv.Value), nil
	case *streamtypes.AttributeValueMemberN:
		return events.NewNumberAttribute(tv.Value), nil
	case *streamtypes.AttributeValueMemberB:
		return events.NewBinaryAttribute(cloneBytes(tv.Value)), nil
	case *streamtypes.AttributeValueMemberBOOL:
		return events.NewBooleanAttribute(tv.Value), nil
	case *streamtypes.AttributeValueMemberNULL:
		return events.NewNullAttribute(), nil
	case *streamtypes.AttributeValueMemberL:
		l := make([]events.DynamoDBAttributeValue, len(tv.Value))
		for i, e := range tv.Value {
			ev, err := toStreamValue(e)
			if err != nil {
				return events.DynamoDBAttributeValue{}, fmt.Errorf("list element %d: %w", i, err)
			}
			l[i] = ev
		}
		return events.NewListAttribute(l), nil
	case *streamtypes.AttributeValueMemberM:
		m, err := ToStreamImage(tv.Value)
		if err != nil {
			return events.DynamoDBAttributeValue{}, err
		}
		if m == nil {
			m = map[string]events.DynamoDBAttributeValue{}
		}
		return events.NewMapAttribute(m), nil
	case *streamtypes.AttributeValueMemberSS:
		return events.NewStringSetAttribute(append([]string(nil), tv.Value...)), nil
	case *streamtypes.AttributeValueMemberNS:
		return events.NewNumberSetAttribute(append([]string(nil), tv.Value...)), nil
	case *streamtypes.AttributeValueMemberBS:
		bs := make([][]byte, len(tv.Value))
		for i, b := range tv.Value {
			bs[i] = cloneBytes(b)
		}
		return events.NewBinarySetAttribute(bs), nil
	default:
		return events.DynamoDBAttributeValue{}, fmt.Errorf("unsupported stream attribute value %T", v)
	}
}

func cloneBytes(b []byte) []byte {
	if b == nil {
		return nil
	}
	return append([]byte{}, b...)
}
