// Package snapkeep holds the domain types of the snapkeep service: backup
// policies, customers, scheduled runs, the log of DigitalOcean API calls and
// the error classes customers and ops see.
//
// It sits at the centre of the project and imports no AWS SDK and no
// DigitalOcean client; adapters (shared/dynamo, shared/docloud, ...) translate
// between these types and their technology. Struct tags name the attributes
// the types are stored under (json for files and snapctl output, dynamodbav for
// DynamoDB items); they are plain strings and import nothing.
package snapkeep
